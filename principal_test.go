package regie_test

import (
	"errors"
	"fmt"
	"testing"

	"github.com/regie-nl/regie"
)

func TestRole_Valid(t *testing.T) {
	for _, r := range []regie.Role{regie.RoleAssessor, regie.RoleClient, regie.RoleProvider, regie.RoleFunder, regie.RoleAuditor, regie.RoleAdmin} {
		if !r.Valid() {
			t.Errorf("%q is not Valid", r)
		}
	}
	for _, r := range []regie.Role{"", "root", "Assessor", "funders"} {
		if r.Valid() {
			t.Errorf("%q is Valid", r)
		}
	}
}

func TestPrincipal_InRegion(t *testing.T) {
	tests := []struct {
		name    string
		regions []string
		region  string
		want    bool
	}{
		{"listed", []string{"r1", "r2"}, "r2", true},
		{"not listed", []string{"r1", "r2"}, "r3", false},
		{"all regions", []string{regie.AllRegions}, "r3", true},
		{"all regions among others", []string{"r1", regie.AllRegions}, "r9", true},
		{"no scope", nil, "r1", false},
		{"empty region not in scope", []string{"r1"}, "", false},
		{"case sensitive", []string{"R1"}, "r1", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := regie.Principal{Role: regie.RoleFunder, Subject: "u1", Regions: tc.regions}
			if got := p.InRegion(tc.region); got != tc.want {
				t.Errorf("InRegion(%q) with %v = %v, want %v", tc.region, tc.regions, got, tc.want)
			}
		})
	}
}

func TestPrincipal_Require(t *testing.T) {
	p := regie.Principal{Role: regie.RoleProvider, Subject: "12345678"}
	t.Run("one of the roles", func(t *testing.T) {
		if err := p.Require(regie.RoleClient, regie.RoleProvider); err != nil {
			t.Errorf("Require: %v", err)
		}
	})
	t.Run("not one of the roles", func(t *testing.T) {
		err := p.Require(regie.RoleAssessor, regie.RoleFunder)
		if regie.ErrorKind(err) != regie.Forbidden || regie.ErrorCode(err) != "role_forbidden" {
			t.Errorf("Require = %v, want forbidden role_forbidden", err)
		}
	})
	t.Run("no roles", func(t *testing.T) {
		if err := p.Require(); regie.ErrorCode(err) != "role_forbidden" {
			t.Errorf("Require() = %v, want role_forbidden", err)
		}
	})
	t.Run("empty role", func(t *testing.T) {
		if err := (regie.Principal{}).Require(regie.RoleClient); regie.ErrorCode(err) != "role_forbidden" {
			t.Errorf("Require = %v, want role_forbidden", err)
		}
	})
}

func TestPrincipal_RequireRegion(t *testing.T) {
	p := regie.Principal{Role: regie.RoleFunder, Subject: "u1", Regions: []string{"r1"}}
	if err := p.RequireRegion("r1"); err != nil {
		t.Errorf("RequireRegion(r1): %v", err)
	}
	err := p.RequireRegion("r2")
	if regie.ErrorKind(err) != regie.Forbidden || regie.ErrorCode(err) != "scope_forbidden" {
		t.Errorf("RequireRegion(r2) = %v, want forbidden scope_forbidden", err)
	}
	national := regie.Principal{Role: regie.RoleAssessor, Regions: []string{regie.AllRegions}}
	if err := national.RequireRegion("r2"); err != nil {
		t.Errorf("national RequireRegion(r2): %v", err)
	}
}

func TestErrorKind(t *testing.T) {
	base := regie.Errorf(regie.Conflict, "choice_active", "already %s", "requested")
	tests := []struct {
		name string
		err  error
		kind regie.Kind
		code string
	}{
		{"direct", base, regie.Conflict, "choice_active"},
		{"wrapped once", fmt.Errorf("create: %w", base), regie.Conflict, "choice_active"},
		{"wrapped twice", fmt.Errorf("outer: %w", fmt.Errorf("inner: %w", base)), regie.Conflict, "choice_active"},
		{"joined", errors.Join(errors.New("other"), base), regie.Conflict, "choice_active"},
		{"field error", regie.FieldError("bsn", "bsn_invalid", "bad"), regie.Invalid, "bsn_invalid"},
		{"wrapped field error", fmt.Errorf("x: %w", regie.FieldError("bsn", "bsn_invalid", "bad")), regie.Invalid, "bsn_invalid"},
		{"plain error", errors.New("disk on fire"), regie.Internal, "internal"},
		{"formatted with %v is not wrapped", fmt.Errorf("x: %v", base), regie.Internal, "internal"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := regie.ErrorKind(tc.err); got != tc.kind {
				t.Errorf("ErrorKind = %q, want %q", got, tc.kind)
			}
			if got := regie.ErrorCode(tc.err); got != tc.code {
				t.Errorf("ErrorCode = %q, want %q", got, tc.code)
			}
		})
	}
}

func TestError_Error(t *testing.T) {
	if got := regie.Errorf(regie.NotFound, "voucher_not_found", "no voucher %s", "v1").Error(); got != "voucher_not_found: no voucher v1" {
		t.Errorf("Error() = %q", got)
	}
	if got := regie.FieldError("bsn", "bsn_invalid", "nine digits").Error(); got != "bsn_invalid: nine digits (bsn)" {
		t.Errorf("Error() = %q", got)
	}
	fe := regie.FieldError("units", "units_invalid", "n=%d", 3)
	if fe.Kind != regie.Invalid || fe.Field != "units" || fe.Message != "n=3" {
		t.Errorf("FieldError = %+v", fe)
	}
}
