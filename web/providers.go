package web

import (
	"github.com/gofiber/fiber/v2"
	"github.com/regie-nl/regie"
	"github.com/regie-nl/regie/matching"
)

// Provider onboarding and qualification: profiles, evidence and the funders'
// criteria. Routes are registered in matchingRoutes.

func (s *Server) vocabulary(c *fiber.Ctx) error {
	return c.JSON(matching.Vocabularies())
}

func (s *Server) registerProvider(c *fiber.Ctx) error {
	var in matching.ProviderInput
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	p, err := s.matching.Register(c.UserContext(), principal(c), in)
	if err != nil {
		return err
	}
	c.Location("/api/v1/providers/" + p.AGB)
	return c.Status(fiber.StatusCreated).JSON(p)
}

func (s *Server) getProvider(c *fiber.Ctx) error {
	p, err := s.matching.Provider(c.UserContext(), principal(c), c.Params("agb"))
	if err != nil {
		return err
	}
	return c.JSON(p)
}

func (s *Server) updateProvider(c *fiber.Ctx) error {
	var in matching.ProviderInput
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	p, err := s.matching.UpdateProfile(c.UserContext(), principal(c), c.Params("agb"), in)
	if err != nil {
		return err
	}
	return c.JSON(p)
}

func (s *Server) setAvailability(c *fiber.Ctx) error {
	var in struct {
		OpenPlaces   *int `json:"open_places"`
		WaitingWeeks *int `json:"waiting_weeks"`
	}
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	if in.OpenPlaces == nil {
		return regie.FieldError("open_places", "field_required", "open_places is required")
	}
	if in.WaitingWeeks == nil {
		return regie.FieldError("waiting_weeks", "field_required", "waiting_weeks is required")
	}
	p, err := s.matching.SetAvailability(c.UserContext(), principal(c), c.Params("agb"), *in.OpenPlaces, *in.WaitingWeeks)
	if err != nil {
		return err
	}
	return c.JSON(p)
}

func (s *Server) providerStatus(c *fiber.Ctx) error {
	st, err := s.matching.Status(c.UserContext(), principal(c), c.Params("agb"))
	if err != nil {
		return err
	}
	return c.JSON(st)
}

func (s *Server) listEvidence(c *fiber.Ctx) error {
	es, err := s.matching.Evidence(c.UserContext(), principal(c), c.Params("agb"))
	if err != nil {
		return err
	}
	return c.JSON(fiber.Map{"evidence": es})
}

func (s *Server) submitEvidence(c *fiber.Ctx) error {
	var in matching.EvidenceInput
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	e, err := s.matching.SubmitEvidence(c.UserContext(), principal(c), c.Params("agb"), in)
	if err != nil {
		return err
	}
	return c.Status(fiber.StatusCreated).JSON(e)
}

func (s *Server) approveEvidence(c *fiber.Ctx) error {
	e, err := s.matching.ReviewEvidence(c.UserContext(), principal(c), c.Params("agb"), c.Params("id"), true, "")
	if err != nil {
		return err
	}
	return c.JSON(e)
}

func (s *Server) rejectEvidence(c *fiber.Ctx) error {
	var in reasonBody
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	e, err := s.matching.ReviewEvidence(c.UserContext(), principal(c), c.Params("agb"), c.Params("id"), false, in.Reason)
	if err != nil {
		return err
	}
	return c.JSON(e)
}

func (s *Server) regionEvidence(c *fiber.Ctx) error {
	es, err := s.matching.RegionEvidence(c.UserContext(), principal(c), c.Params("id"), c.Query("status"))
	if err != nil {
		return err
	}
	return c.JSON(fiber.Map{"evidence": es})
}

func (s *Server) getCriteria(c *fiber.Ctx) error {
	cr, err := s.matching.Criteria(c.UserContext(), principal(c), c.Params("id"))
	if err != nil {
		return err
	}
	return c.JSON(cr)
}

func (s *Server) setCriteria(c *fiber.Ctx) error {
	var in matching.CriteriaInput
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	cr, n, err := s.matching.SetCriteria(c.UserContext(), principal(c), c.Params("id"), in)
	if err != nil {
		return err
	}
	return c.JSON(struct {
		*matching.Criteria
		Reevaluated int `json:"reevaluated"`
	}{cr, n})
}
