package web

import (
	"strconv"

	"github.com/gofiber/fiber/v2"
	"github.com/regie-nl/regie"
	"github.com/regie-nl/regie/matching"
)

func (s *Server) matchingRoutes(api fiber.Router, auth fiber.Handler) {
	api.Get("/vocabulary", auth, s.vocabulary)

	api.Post("/providers", auth, s.registerProvider)
	api.Get("/providers/:agb", auth, s.getProvider)
	api.Put("/providers/:agb", auth, s.updateProvider)
	api.Put("/providers/:agb/availability", auth, s.setAvailability)
	api.Get("/providers/:agb/status", auth, s.providerStatus)
	api.Get("/providers/:agb/evidence", auth, s.listEvidence)
	api.Post("/providers/:agb/evidence", auth, s.submitEvidence)
	api.Post("/providers/:agb/evidence/:id/approve", auth, s.approveEvidence)
	api.Post("/providers/:agb/evidence/:id/reject", auth, s.rejectEvidence)
	api.Get("/regions/:id/criteria", auth, s.getCriteria)
	api.Put("/regions/:id/criteria", auth, s.setCriteria)
	api.Get("/regions/:id/evidence", auth, s.regionEvidence)

	api.Get("/vouchers/:id/providers", auth, s.searchProviders)
	api.Post("/vouchers/:id/choices", auth, s.createChoice)
	api.Get("/choices", auth, s.listChoices)
	api.Get("/choices/history", auth, s.choiceHistory)
	api.Post("/choices/:id/accept", auth, s.acceptChoice)
	api.Post("/choices/:id/decline", auth, s.declineChoice)
	api.Post("/vouchers/:id/waiting", auth, s.joinWaiting)
	api.Get("/waiting", auth, s.listWaiting)
	api.Post("/waiting/:id/withdraw", auth, s.withdrawWaiting)
}

func (s *Server) searchProviders(c *fiber.Ctx) error {
	q := matching.Query{
		Product: c.Query("product"), Language: c.Query("language"), Expertise: c.Query("expertise"),
		Identity: c.Query("identity"), Setting: c.Query("setting"),
	}
	var err error
	if q.Lat, err = floatQuery(c, "lat", true); err != nil {
		return err
	}
	if q.Lon, err = floatQuery(c, "lon", true); err != nil {
		return err
	}
	if q.RadiusKm, err = floatQuery(c, "radius_km", false); err != nil {
		return err
	}
	if v := c.Query("limit"); v != "" {
		if q.Limit, err = strconv.Atoi(v); err != nil || q.Limit <= 0 {
			return regie.FieldError("limit", "search_invalid", "limit must be a whole number from 1 to %d", matching.MaxLimit)
		}
	}
	if v := c.Query("offset"); v != "" {
		if q.Offset, err = strconv.Atoi(v); err != nil {
			return regie.FieldError("offset", "search_invalid", "offset must be a whole number from 0 to %d", matching.MaxOffset)
		}
	}
	if v := c.Query("max_waiting_weeks"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			return regie.FieldError("max_waiting_weeks", "search_invalid", "max_waiting_weeks must be a whole number of weeks")
		}
		q.MaxWaitingWeeks = &n
	}
	switch v := c.Query("available"); v {
	case "", "false":
	case "true":
		q.Available = true
	default:
		return regie.FieldError("available", "search_invalid", "available is true or false")
	}
	if q.Product == "" {
		return regie.FieldError("product", "field_required", "product is required")
	}
	page, err := s.matching.Search(c.UserContext(), principal(c), c.Params("id"), q)
	if err != nil {
		return err
	}
	return c.JSON(page)
}

func floatQuery(c *fiber.Ctx, name string, required bool) (float64, error) {
	v := c.Query(name)
	if v == "" {
		if required {
			return 0, regie.FieldError(name, "field_required", "%s is required", name)
		}
		return 0, nil
	}
	f, err := strconv.ParseFloat(v, 64)
	if err != nil {
		return 0, regie.FieldError(name, "search_invalid", "%s must be a number", name)
	}
	return f, nil
}

func (s *Server) createChoice(c *fiber.Ctx) error {
	var in matching.ChoiceRequest
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	ch, err := s.matching.Choose(c.UserContext(), principal(c), c.Params("id"), in)
	if err != nil {
		return err
	}
	return c.Status(fiber.StatusCreated).JSON(ch)
}

func (s *Server) listChoices(c *fiber.Ctx) error {
	cs, err := s.matching.Choices(c.UserContext(), principal(c))
	if err != nil {
		return err
	}
	if cs == nil {
		cs = []*matching.Choice{}
	}
	return c.JSON(fiber.Map{"choices": cs})
}

func (s *Server) choiceHistory(c *fiber.Ctx) error {
	events, err := s.matching.History(c.UserContext(), principal(c), c.Query("voucher_id"))
	if err != nil {
		return err
	}
	return c.JSON(fiber.Map{"events": events})
}

func (s *Server) acceptChoice(c *fiber.Ctx) error {
	ch, err := s.matching.Decide(c.UserContext(), principal(c), c.Params("id"), true, "")
	if err != nil {
		return err
	}
	return c.JSON(ch)
}

// reasonBody is the body of a decline or a rejection.
type reasonBody struct {
	Reason string `json:"reason"`
}

func (s *Server) declineChoice(c *fiber.Ctx) error {
	var in reasonBody
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	ch, err := s.matching.Decide(c.UserContext(), principal(c), c.Params("id"), false, in.Reason)
	if err != nil {
		return err
	}
	return c.JSON(ch)
}

func (s *Server) joinWaiting(c *fiber.Ctx) error {
	var in matching.WaitRequest
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	w, err := s.matching.Wait(c.UserContext(), principal(c), c.Params("id"), in)
	if err != nil {
		return err
	}
	return c.Status(fiber.StatusCreated).JSON(w)
}

func (s *Server) listWaiting(c *fiber.Ctx) error {
	ws, err := s.matching.WaitingList(c.UserContext(), principal(c))
	if err != nil {
		return err
	}
	if ws == nil {
		ws = []*matching.Waiting{}
	}
	return c.JSON(fiber.Map{"waiting": ws})
}

func (s *Server) withdrawWaiting(c *fiber.Ctx) error {
	w, err := s.matching.Withdraw(c.UserContext(), principal(c), c.Params("id"))
	if err != nil {
		return err
	}
	return c.JSON(w)
}
