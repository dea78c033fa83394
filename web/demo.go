package web

import (
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/regie-nl/regie"
)

// Demo enables a login without credentials for the demo users. It is wired
// only by `regie serve --demo`.
type Demo struct {
	Users []DemoUser
}

// DemoUser is one demo login. A demo client's subject is the pseudonym of a
// fictitious BSN, never the BSN.
type DemoUser struct {
	Role    regie.Role `json:"role"`
	Subject string     `json:"subject"`
	Regions []string   `json:"regions,omitempty"`
	Label   string     `json:"label"`
}

func (s *Server) demoUsers(c *fiber.Ctx) error {
	return c.JSON(fiber.Map{"users": s.demo.Users})
}

// demoLogin issues a token for the first demo user of the requested role, or
// for the one with the requested subject.
func (s *Server) demoLogin(c *fiber.Ctx) error {
	var in struct {
		Role    regie.Role `json:"role"`
		Subject string     `json:"subject"`
	}
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	for _, u := range s.demo.Users {
		if u.Role != in.Role || (in.Subject != "" && in.Subject != u.Subject) {
			continue
		}
		p := regie.Principal{Role: u.Role, Subject: u.Subject, Regions: u.Regions}
		now := s.now()
		token, err := IssueAccessToken(s.keys, p, s.tokenTTL, now)
		if err != nil {
			return err
		}
		return c.JSON(fiber.Map{
			"token": token, "role": p.Role, "subject": p.Subject, "regions": p.Regions,
			"expires_at": now.Add(s.tokenTTL).UTC().Format(time.RFC3339),
		})
	}
	return regie.Errorf(regie.NotFound, "demo_user_not_found", "no demo user with role %q", in.Role)
}
