package settlement_test

import (
	"testing"

	"github.com/regie-nl/regie"
	"github.com/regie-nl/regie/settlement"
)

func TestPolicy_Validate(t *testing.T) {
	ok := []settlement.Policy{
		{}, {Kind: settlement.Monitor}, {Kind: settlement.Cap, DisputeDays: 30},
		{Kind: settlement.Hold, HoldThreshold: 90_00}, {Kind: settlement.ProRata, ProvisionalRate: 85_00},
	}
	for _, p := range ok {
		if err := p.Validate(); err != nil {
			t.Errorf("%+v: %v", p, err)
		}
	}
	bad := []struct {
		p     settlement.Policy
		field string
	}{
		{settlement.Policy{Kind: "brake"}, "kind"},
		{settlement.Policy{Kind: settlement.Hold}, "hold_threshold"},
		{settlement.Policy{Kind: settlement.ProRata, ProvisionalRate: 100_01}, "provisional_rate"},
		{settlement.Policy{Kind: settlement.Cap, HoldThreshold: 5_00}, "hold_threshold"},
		{settlement.Policy{Kind: settlement.Monitor, ProvisionalRate: 10_00}, "provisional_rate"},
		{settlement.Policy{Kind: settlement.Hold, HoldThreshold: 90_00, ProvisionalRate: 10_00}, "provisional_rate"},
		{settlement.Policy{DisputeDays: 367}, "dispute_days"},
	}
	for _, tc := range bad {
		err := tc.p.Validate()
		var e *regie.Error
		if err == nil || regie.ErrorCode(err) != "policy_invalid" {
			t.Errorf("%+v: got %v, want policy_invalid", tc.p, err)
			continue
		}
		if e = err.(*regie.Error); e.Field != tc.field {
			t.Errorf("%+v: field %q, want %q", tc.p, e.Field, tc.field)
		}
	}
}
