package web

import (
	"net/url"

	"github.com/gofiber/fiber/v2"
	"github.com/regie-nl/regie"
	"github.com/regie-nl/regie/settlement"
)

func (s *Server) settlementRoutes(api fiber.Router, auth fiber.Handler) {
	api.Post("/claims", auth, s.submitClaim)
	api.Post("/claims/batch", auth, s.submitBatch)
	api.Get("/claims/:claim_id", auth, s.getClaim)
	api.Post("/claims/:claim_id/reverse", auth, s.reverseClaim)
	api.Get("/vouchers/:id/claims", auth, s.voucherClaims)
	api.Post("/disputes", auth, s.openDispute)
	api.Post("/choices/:id/end", auth, s.endAssignment)
	s.regionRoutes(api, auth)
	s.monitoringRoutes(api, auth)
}

// claimRequest is a claim as a provider sends it. The provider is the caller,
// so the body names no provider.
type claimRequest struct {
	ClaimID   string      `json:"claim_id"`
	VoucherID string      `json:"voucher_id"`
	Product   string      `json:"product"`
	From      regie.Date  `json:"from"`
	To        regie.Date  `json:"to"`
	Units     regie.Units `json:"units"`
	UnitPrice regie.Cents `json:"unit_price"`
}

func (r claimRequest) claim() settlement.Claim {
	return settlement.Claim{
		ClaimID: r.ClaimID, VoucherID: r.VoucherID, Product: r.Product,
		From: r.From, To: r.To, Units: r.Units, UnitPrice: r.UnitPrice,
	}
}

// submitClaim answers 201 with a new decision (accepted, held or rejected),
// 200 with the recorded decision of a retry (Idempotent-Replayed: true), or a
// problem. With ?dry_run=true it answers 200 with the decision it would make
// and writes nothing.
func (s *Server) submitClaim(c *fiber.Ctx) error {
	var in claimRequest
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	dryRun, err := boolQuery(c, "dry_run")
	if err != nil {
		return err
	}
	d, replay, err := s.settle.Submit(c.UserContext(), principal(c), in.claim(), dryRun)
	if err != nil {
		return err
	}
	switch {
	case replay:
		c.Set("Idempotent-Replayed", "true")
		return c.JSON(d)
	case dryRun:
		c.Set("Dry-Run", "true")
		return c.JSON(d)
	}
	s.metrics.claims.WithLabelValues(string(d.Status), d.Reason).Inc()
	return c.Status(fiber.StatusCreated).JSON(d)
}

func boolQuery(c *fiber.Ctx, name string) (bool, error) {
	switch c.Query(name) {
	case "", "false", "0":
		return false, nil
	case "true", "1":
		return true, nil
	}
	return false, regie.FieldError(name, "query_invalid", "%s must be true or false", name)
}

func (s *Server) getClaim(c *fiber.Ctx) error {
	claimID, err := pathParam(c, "claim_id")
	if err != nil {
		return err
	}
	rec, err := s.settle.Claim(c.UserContext(), principal(c), claimID)
	if err != nil {
		return err
	}
	return c.JSON(rec)
}

func (s *Server) reverseClaim(c *fiber.Ctx) error {
	var in struct {
		Reason string `json:"reason"`
	}
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	claimID, err := pathParam(c, "claim_id")
	if err != nil {
		return err
	}
	rec, err := s.settle.Reverse(c.UserContext(), principal(c), claimID, in.Reason)
	if err != nil {
		return err
	}
	return c.JSON(rec)
}

func (s *Server) voucherClaims(c *fiber.Ctx) error {
	recs, err := s.settle.VoucherClaims(c.UserContext(), principal(c), c.Params("id"))
	if err != nil {
		return err
	}
	if recs == nil {
		recs = []settlement.ClaimRecord{}
	}
	return c.JSON(fiber.Map{"claims": recs})
}

func (s *Server) openDispute(c *fiber.Ctx) error {
	var in struct {
		ProviderAGB string `json:"provider_agb"`
		ClaimID     string `json:"claim_id"`
		Reason      string `json:"reason"`
	}
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	rec, err := s.settle.Dispute(c.UserContext(), principal(c), in.ProviderAGB, in.ClaimID, in.Reason)
	if err != nil {
		return err
	}
	return c.Status(fiber.StatusCreated).JSON(rec)
}

func (s *Server) endAssignment(c *fiber.Ctx) error {
	var in struct {
		LastDay regie.Date `json:"last_day"`
	}
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	if in.LastDay.IsZero() {
		return regie.FieldError("last_day", "field_required", "last_day is required")
	}
	ch, err := s.settle.EndAssignment(c.UserContext(), principal(c), c.Params("id"), in.LastDay)
	if err != nil {
		return err
	}
	return c.JSON(ch)
}

// pathParam returns a path parameter decoded: a provider's claim id may hold
// any printable character, so it arrives percent-encoded (Fiber leaves path
// segments as sent, so that an encoded "/" stays inside its segment).
func pathParam(c *fiber.Ctx, name string) (string, error) {
	v, err := url.PathUnescape(c.Params(name))
	if err != nil {
		return "", regie.FieldError(name, "path_invalid", "%s is not a valid URL path segment", name)
	}
	return v, nil
}
