package web

import (
	"github.com/gofiber/fiber/v2"
	"github.com/regie-nl/regie"
	"github.com/regie-nl/regie/voucher"
)

// voucherView is a voucher as the API shows it: with its live status and balance.
type voucherView struct {
	*voucher.Voucher
	Status  voucher.Status `json:"status"`
	Balance regie.Cents    `json:"balance"`
}

func (s *Server) view(v *voucher.Voucher) voucherView {
	return voucherView{Voucher: v, Status: v.StatusAt(regie.DateOf(s.now())), Balance: v.Balance()}
}

func (s *Server) voucherRoutes(api fiber.Router, auth fiber.Handler) {
	api.Get("/tariffs", auth, s.listTariffs)
	api.Post("/indications", auth, s.createIndication)
	api.Post("/vouchers/verify", auth, s.verifyVoucher)
	api.Get("/vouchers", auth, s.listVouchers)
	api.Get("/vouchers/:id", auth, s.getVoucher)
	api.Get("/vouchers/:id/token", auth, s.getVoucherToken)
	api.Put("/vouchers/:id/state", auth, s.setVoucherState)
}

func (s *Server) createIndication(c *fiber.Ctx) error {
	var in voucher.Indication
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	v, token, err := s.vouchers.Issue(c.UserContext(), principal(c), in)
	if err != nil {
		return err
	}
	c.Location("/api/v1/vouchers/" + v.ID)
	return c.Status(fiber.StatusCreated).JSON(struct {
		voucherView
		Token string `json:"token"`
	}{s.view(v), token})
}

func (s *Server) getVoucher(c *fiber.Ctx) error {
	v, err := s.vouchers.Voucher(c.UserContext(), principal(c), c.Params("id"))
	if err != nil {
		return err
	}
	return c.JSON(s.view(v))
}

func (s *Server) getVoucherToken(c *fiber.Ctx) error {
	token, err := s.vouchers.Token(c.UserContext(), principal(c), c.Params("id"))
	if err != nil {
		return err
	}
	return c.JSON(fiber.Map{"token": token})
}

func (s *Server) listVouchers(c *fiber.Ctx) error {
	vs, err := s.vouchers.ClientVouchers(c.UserContext(), principal(c))
	if err != nil {
		return err
	}
	out := make([]voucherView, 0, len(vs))
	for _, v := range vs {
		out = append(out, s.view(v))
	}
	return c.JSON(fiber.Map{"vouchers": out})
}

func (s *Server) setVoucherState(c *fiber.Ctx) error {
	var in struct {
		State voucher.Status `json:"state"`
	}
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	v, err := s.vouchers.SetState(c.UserContext(), principal(c), c.Params("id"), in.State)
	if err != nil {
		return err
	}
	return c.JSON(s.view(v))
}

func (s *Server) verifyVoucher(c *fiber.Ctx) error {
	var in struct {
		Token string `json:"token"`
	}
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	out, err := s.vouchers.Verify(c.UserContext(), principal(c), in.Token)
	if err != nil {
		return err
	}
	return c.JSON(out)
}

func (s *Server) listTariffs(c *fiber.Ctx) error {
	ts, err := s.vouchers.Tariffs(c.UserContext())
	if err != nil {
		return err
	}
	return c.JSON(fiber.Map{"tariffs": ts})
}
