package demo

import "github.com/regie-nl/regie"

// User is a demo login.
type User struct {
	Role regie.Role
	// Subject is the principal's subject: a staff user id, or the AGB code for a
	// provider. It is empty for the client, whose subject is the pseudonym of
	// BSN, which only the server (holding the pseudonym key) can compute.
	Subject string
	Regions []string
	Label   string
	// BSN is set only for the demo client: a fictitious BSN that passes the
	// 11-proof, from the 9999… range the BRP keeps for testing. The server
	// pseudonymises it.
	BSN string
}

// Demo subjects.
const (
	AssessorSubject = "ciz-demo"
	FunderSubject   = "zk-utrecht-demo"
	AuditorSubject  = "auditor-utrecht-demo"
	AdminSubject    = "admin-demo"
	// ClientBSN is the demo client's fictitious BSN.
	ClientBSN = "999990019"
)

// Users returns one demo user per role: a CIZ assessor for every region, a
// client in Utrecht, the provider Zorghuis De Linde in Utrecht, the funder
// (zorgkantoor) and an auditor of region utrecht, and an operator.
func Users() []User {
	return []User{
		{Role: regie.RoleAssessor, Subject: AssessorSubject, Regions: []string{regie.AllRegions},
			Label: "CIZ-indicatiesteller (alle regio's)"},
		{Role: regie.RoleClient, BSN: ClientBSN,
			Label: "Cliënt mevrouw J. de Wit, Utrecht"},
		{Role: regie.RoleProvider, Subject: DemoProviderAGB,
			Label: "Zorgaanbieder Zorghuis De Linde, Utrecht"},
		{Role: regie.RoleFunder, Subject: FunderSubject, Regions: []string{"utrecht"},
			Label: "Zorgkantoor Utrecht (Zilveren Kruis)"},
		{Role: regie.RoleAuditor, Subject: AuditorSubject, Regions: []string{"utrecht"},
			Label: "Accountant regio Utrecht"},
		{Role: regie.RoleAdmin, Subject: AdminSubject,
			Label: "Beheerder"},
	}
}

// assessor is the principal that issues the demo vouchers.
var assessor = regie.Principal{Role: regie.RoleAssessor, Subject: AssessorSubject, Regions: []string{regie.AllRegions}}
