package web

import (
	"strconv"

	"github.com/gofiber/fiber/v2"
	"github.com/regie-nl/regie"
	"github.com/regie-nl/regie/matching"
)

func (s *Server) matchingRoutes(api fiber.Router, auth fiber.Handler) {
	api.Get("/vouchers/:id/providers", auth, s.searchProviders)
	api.Post("/vouchers/:id/choices", auth, s.createChoice)
	api.Get("/choices", auth, s.listChoices)
	api.Post("/choices/:id/accept", auth, s.acceptChoice)
	api.Post("/choices/:id/decline", auth, s.declineChoice)
}

func (s *Server) searchProviders(c *fiber.Ctx) error {
	q := matching.Query{Product: c.Query("product"), Language: c.Query("language"), Expertise: c.Query("expertise")}
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
			return regie.FieldError("limit", "search_invalid", "limit must be a whole number from 1 to 100")
		}
	}
	if q.Product == "" {
		return regie.FieldError("product", "field_required", "product is required")
	}
	results, err := s.matching.Search(c.UserContext(), principal(c), c.Params("id"), q)
	if err != nil {
		return err
	}
	if results == nil {
		results = []matching.Result{}
	}
	return c.JSON(fiber.Map{"providers": results})
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

func (s *Server) acceptChoice(c *fiber.Ctx) error {
	ch, err := s.matching.Decide(c.UserContext(), principal(c), c.Params("id"), true, "")
	if err != nil {
		return err
	}
	return c.JSON(ch)
}

func (s *Server) declineChoice(c *fiber.Ctx) error {
	var in struct {
		Reason string `json:"reason"`
	}
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	ch, err := s.matching.Decide(c.UserContext(), principal(c), c.Params("id"), false, in.Reason)
	if err != nil {
		return err
	}
	return c.JSON(ch)
}
