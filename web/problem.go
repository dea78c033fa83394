package web

import (
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strconv"

	"github.com/gofiber/fiber/v2"
	"github.com/regie-nl/regie"
)

// Problem is an RFC 9457 problem detail. Code is regie's stable error code.
type Problem struct {
	Type     string `json:"type"`
	Title    string `json:"title"`
	Status   int    `json:"status"`
	Detail   string `json:"detail,omitempty"`
	Instance string `json:"instance,omitempty"`
	Code     string `json:"code"`
	Field    string `json:"field,omitempty"`
}

// statusOf is the one place where an error kind becomes an HTTP status.
func statusOf(k regie.Kind) int {
	switch k {
	case regie.Invalid:
		return http.StatusBadRequest
	case regie.NotFound:
		return http.StatusNotFound
	case regie.Conflict:
		return http.StatusConflict
	case regie.Unauthorized:
		return http.StatusUnauthorized
	case regie.Forbidden:
		return http.StatusForbidden
	case regie.Unavailable:
		return http.StatusServiceUnavailable
	}
	return http.StatusInternalServerError
}

// errorHandler answers every error as problem+json. Application errors keep
// their code; Fiber's own (404 route, 405, 413 body too large) get one; anything
// else is logged and answered as a 500 without details.
func (s *Server) errorHandler(c *fiber.Ctx, err error) error {
	p := s.problemOf(c, err)
	if p.Status == http.StatusServiceUnavailable {
		c.Set(fiber.HeaderRetryAfter, "1")
	}
	if p.Status == http.StatusUnauthorized {
		c.Set(fiber.HeaderWWWAuthenticate, `Bearer realm="regie"`)
	}
	body, _ := json.Marshal(p)
	c.Set(fiber.HeaderContentType, "application/problem+json")
	return c.Status(p.Status).Send(body)
}

// problemOf turns any error into a problem; errors that are not the
// application's are logged and become a 500 without details.
func (s *Server) problemOf(c *fiber.Ctx, err error) *Problem {
	p := &Problem{Instance: c.Path()}
	var appErr *regie.Error
	var fe *fiber.Error
	switch {
	case errors.As(err, &appErr):
		p.Status, p.Code, p.Detail, p.Field = statusOf(appErr.Kind), appErr.Code, appErr.Message, appErr.Field
		if appErr.Kind == regie.Internal || appErr.Kind == regie.Unavailable {
			// the wrapped cause (e.g. Redis's reply) is for the operator, not the caller
			s.log.WarnContext(c.UserContext(), "request failed", slog.String("method", c.Method()), slog.String("path", c.Path()), slog.String("code", appErr.Code), slog.Any("err", err))
		}
	case errors.As(err, &fe):
		p.Status, p.Detail = fe.Code, fe.Message
		p.Code = map[int]string{
			http.StatusNotFound:              "route_not_found",
			http.StatusMethodNotAllowed:      "method_not_allowed",
			http.StatusRequestEntityTooLarge: "body_too_large",
		}[fe.Code]
		if p.Code == "" {
			p.Code = "http_" + strconv.Itoa(fe.Code)
		}
	default:
		p.Status, p.Code, p.Detail = http.StatusInternalServerError, "internal", "an unexpected error occurred; it has been logged"
		s.log.ErrorContext(c.UserContext(), "request failed", slog.String("method", c.Method()), slog.String("path", c.Path()), slog.Any("err", err))
	}
	p.Title = http.StatusText(p.Status)
	p.Type = "urn:regie:problem:" + p.Code
	return p
}
