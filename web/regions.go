package web

import (
	"github.com/gofiber/fiber/v2"
	"github.com/regie-nl/regie"
	"github.com/regie-nl/regie/settlement"
)

func (s *Server) regionRoutes(api fiber.Router, auth fiber.Handler) {
	api.Get("/regions", auth, s.listRegions)
	api.Get("/regions/:id/budget", auth, s.regionBudget)
	api.Get("/regions/:id/revisions", auth, s.listRevisions)
	api.Post("/regions/:id/revisions", auth, s.reviseBudget)
	api.Put("/regions/:id/policy", auth, s.setPolicy)
	api.Post("/regions/:id/held/release", auth, s.releaseHeld)
	api.Post("/regions/:id/close", auth, s.closeYear)
	api.Get("/regions/:id/disputes", auth, s.listDisputes)
	api.Post("/regions/:id/disputes/:agb/:claim_id/:verdict", auth, s.resolveDispute)
	api.Get("/regions/:id/journal/verify", auth, s.verifyJournal)
}

func (s *Server) listRegions(c *fiber.Ctx) error {
	rs, err := s.settle.Regions(c.UserContext())
	if err != nil {
		return err
	}
	return c.JSON(fiber.Map{"regions": rs})
}

func (s *Server) regionBudget(c *fiber.Ctx) error {
	f, err := s.settle.Figures(c.UserContext(), principal(c), c.Params("id"))
	if err != nil {
		return err
	}
	return c.JSON(f)
}

func (s *Server) listRevisions(c *fiber.Ctx) error {
	revs, err := s.settle.Revisions(c.UserContext(), principal(c), c.Params("id"))
	if err != nil {
		return err
	}
	return c.JSON(fiber.Map{"revisions": revs})
}

func (s *Server) reviseBudget(c *fiber.Ctx) error {
	var in struct {
		Budget    *regie.Cents `json:"budget"`
		Effective regie.Date   `json:"effective"`
		Reason    string       `json:"reason"`
	}
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	if in.Budget == nil {
		return regie.FieldError("budget", "field_required", "budget is required")
	}
	rev, err := s.settle.ReviseBudget(c.UserContext(), principal(c), c.Params("id"), *in.Budget, in.Effective, in.Reason)
	if err != nil {
		return err
	}
	// A lever answers its effect on the figures at once.
	f, err := s.settle.Figures(c.UserContext(), principal(c), c.Params("id"))
	if err != nil {
		return err
	}
	return c.Status(fiber.StatusCreated).JSON(struct {
		settlement.Revision
		Figures settlement.Figures `json:"figures"`
	}{rev, f})
}

func (s *Server) setPolicy(c *fiber.Ctx) error {
	var in settlement.Policy
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	f, err := s.settle.SetPolicy(c.UserContext(), principal(c), c.Params("id"), in)
	if err != nil {
		return err
	}
	return c.JSON(f)
}

func (s *Server) releaseHeld(c *fiber.Ctx) error {
	var in struct {
		UpTo regie.Cents `json:"up_to"`
	}
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	out, err := s.settle.ReleaseHeld(c.UserContext(), principal(c), c.Params("id"), in.UpTo)
	if err != nil {
		return err
	}
	return c.JSON(out)
}

func (s *Server) closeYear(c *fiber.Ctx) error {
	out, err := s.settle.CloseYear(c.UserContext(), principal(c), c.Params("id"))
	if err != nil {
		return err
	}
	return c.JSON(out)
}

func (s *Server) listDisputes(c *fiber.Ctx) error {
	recs, err := s.settle.Disputes(c.UserContext(), principal(c), c.Params("id"))
	if err != nil {
		return err
	}
	if recs == nil {
		recs = []settlement.ClaimRecord{}
	}
	return c.JSON(fiber.Map{"disputes": recs})
}

// resolveDispute takes the verdict "uphold" or "dismiss" from the path.
func (s *Server) resolveDispute(c *fiber.Ctx) error {
	var uphold bool
	switch c.Params("verdict") {
	case "uphold":
		uphold = true
	case "dismiss":
	default:
		return fiber.ErrNotFound
	}
	var in struct {
		Resolution string `json:"resolution"`
	}
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	agb, err := pathParam(c, "agb")
	if err != nil {
		return err
	}
	claimID, err := pathParam(c, "claim_id")
	if err != nil {
		return err
	}
	rec, err := s.settle.ResolveDispute(c.UserContext(), principal(c), c.Params("id"), agb, claimID, uphold, in.Resolution)
	if err != nil {
		return err
	}
	return c.JSON(rec)
}

func (s *Server) verifyJournal(c *fiber.Ctx) error {
	rep, err := s.settle.Verify(c.UserContext(), principal(c), c.Params("id"))
	if err != nil {
		return err
	}
	return c.JSON(rep)
}
