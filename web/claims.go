package web

import (
	"github.com/gofiber/fiber/v2"
	"github.com/regie-nl/regie"
	"github.com/regie-nl/regie/settlement"
)

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

func (s *Server) settlementRoutes(api fiber.Router, auth fiber.Handler) {
	api.Get("/regions", auth, s.listRegions)
	api.Get("/regions/:id/budget", auth, s.regionBudget)
	api.Post("/claims", auth, s.submitClaim)
	api.Get("/claims/:claim_id", auth, s.getClaim)
}

// submitClaim answers 201 with a new decision (accepted or rejected), 200 with
// the recorded decision of a retry (Idempotent-Replayed: true), or a problem.
func (s *Server) submitClaim(c *fiber.Ctx) error {
	var in claimRequest
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	d, replay, err := s.settle.Submit(c.UserContext(), principal(c), settlement.Claim{
		ClaimID: in.ClaimID, VoucherID: in.VoucherID, Product: in.Product,
		From: in.From, To: in.To, Units: in.Units, UnitPrice: in.UnitPrice,
	})
	if err != nil {
		return err
	}
	if replay {
		c.Set("Idempotent-Replayed", "true")
		return c.JSON(d)
	}
	s.metrics.claims.WithLabelValues(string(d.Status), d.Reason).Inc()
	return c.Status(fiber.StatusCreated).JSON(d)
}

func (s *Server) getClaim(c *fiber.Ctx) error {
	d, err := s.settle.Decision(c.UserContext(), principal(c), c.Params("claim_id"))
	if err != nil {
		return err
	}
	return c.JSON(d)
}

func (s *Server) regionBudget(c *fiber.Ctx) error {
	f, err := s.settle.Figures(c.UserContext(), principal(c), c.Params("id"))
	if err != nil {
		return err
	}
	return c.JSON(f)
}

func (s *Server) listRegions(c *fiber.Ctx) error {
	rs, err := s.settle.Regions(c.UserContext())
	if err != nil {
		return err
	}
	return c.JSON(fiber.Map{"regions": rs})
}
