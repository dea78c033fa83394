// Package web is regie's HTTP face: the JSON API under /api/v1, the JWKS,
// health and readiness, Prometheus metrics and the demo login. It talks to the
// domain services only; errors become RFC 9457 problem+json in one place
// (problem.go).
package web

import (
	"context"
	"log/slog"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/middleware/adaptor"
	"github.com/gofiber/fiber/v2/middleware/recover"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/regie-nl/regie/matching"
	"github.com/regie-nl/regie/settlement"
	"github.com/regie-nl/regie/voucher"
)

// Config wires the server to its services.
type Config struct {
	Vouchers   *voucher.Service
	Matching   *matching.Service
	Settlement *settlement.Service
	Keys       *voucher.KeyRing
	// Ready reports whether the store can serve (for /readyz).
	Ready func(ctx context.Context) error
	// Demo enables the demo login; nil in production.
	Demo   *Demo
	Logger *slog.Logger
	// Registry collects metrics; a new one when nil.
	Registry *prometheus.Registry
	// TokenTTL is the lifetime of tokens from the demo login; 12 h when zero.
	TokenTTL time.Duration
	// BodyLimit is the largest request body in bytes; 4 MiB when zero (a
	// batch of 10,000 claim lines).
	BodyLimit int
	// Now is the clock; time.Now when nil.
	Now func() time.Time
}

// Server is the HTTP application.
type Server struct {
	app      *fiber.App
	vouchers *voucher.Service
	matching *matching.Service
	settle   *settlement.Service
	keys     *voucher.KeyRing
	ready    func(ctx context.Context) error
	demo     *Demo
	log      *slog.Logger
	metrics  *metrics
	tokenTTL time.Duration
	tokens   tokenCache
	now      func() time.Time
}

// New builds the server and its routes.
func New(cfg Config) *Server {
	s := &Server{
		vouchers: cfg.Vouchers, matching: cfg.Matching, settle: cfg.Settlement, keys: cfg.Keys,
		ready: cfg.Ready, demo: cfg.Demo, log: cfg.Logger, tokenTTL: cfg.TokenTTL, now: cfg.Now,
	}
	if s.log == nil {
		s.log = slog.Default()
	}
	if s.tokenTTL == 0 {
		s.tokenTTL = 12 * time.Hour
	}
	if s.now == nil {
		s.now = time.Now
	}
	reg := cfg.Registry
	if reg == nil {
		reg = prometheus.NewRegistry()
	}
	s.metrics = newMetrics(reg)
	bodyLimit := cfg.BodyLimit
	if bodyLimit == 0 {
		bodyLimit = 4 << 20
	}
	s.app = fiber.New(fiber.Config{
		AppName:               "regie",
		BodyLimit:             bodyLimit,
		ErrorHandler:          s.errorHandler,
		DisableStartupMessage: true,
		// Handlers pass strings from the request to stores that keep them;
		// Immutable makes Fiber copy them instead of reusing its buffers.
		Immutable:    true,
		ReadTimeout:  30 * time.Second,
		WriteTimeout: 30 * time.Second,
		IdleTimeout:  2 * time.Minute,
	})
	s.app.Use(recover.New())
	s.app.Use(s.observe)
	s.routes(reg)
	return s
}

func (s *Server) routes(reg *prometheus.Registry) {
	app := s.app
	app.Get("/healthz", s.healthz)
	app.Get("/readyz", s.readyz)
	app.Get("/metrics", adaptor.HTTPHandler(promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg})))
	app.Get("/.well-known/jwks.json", s.jwks)

	api := app.Group("/api/v1")
	if s.demo != nil {
		api.Get("/demo/users", s.demoUsers)
		api.Post("/demo/login", s.demoLogin)
	}
	// Authentication is per route, not api.Use, so that an unknown path is a
	// 404 for everyone rather than a 401 for the unauthenticated.
	auth := s.authenticate
	s.voucherRoutes(api, auth)
	s.matchingRoutes(api, auth)
	s.settlementRoutes(api, auth)
}

// App returns the Fiber application, for tests (app.Test) and for Listen.
func (s *Server) App() *fiber.App { return s.app }

// Listen serves on addr until Shutdown.
func (s *Server) Listen(addr string) error { return s.app.Listen(addr) }

// Shutdown stops accepting connections and waits for requests in flight,
// up to the context's deadline.
func (s *Server) Shutdown(ctx context.Context) error { return s.app.ShutdownWithContext(ctx) }

func (s *Server) healthz(c *fiber.Ctx) error {
	return c.JSON(fiber.Map{"status": "ok"})
}

func (s *Server) readyz(c *fiber.Ctx) error {
	ctx, cancel := context.WithTimeout(c.UserContext(), 2*time.Second)
	defer cancel()
	if s.ready != nil {
		if err := s.ready(ctx); err != nil {
			s.log.WarnContext(ctx, "not ready", slog.Any("err", err))
			c.Set(fiber.HeaderRetryAfter, "1")
			return c.Status(fiber.StatusServiceUnavailable).JSON(fiber.Map{"status": "unavailable"})
		}
	}
	return c.JSON(fiber.Map{"status": "ready"})
}

func (s *Server) jwks(c *fiber.Ctx) error {
	c.Set(fiber.HeaderCacheControl, "public, max-age=300")
	return c.JSON(s.keys.JWKS())
}
