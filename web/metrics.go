package web

import (
	"log/slog"
	"strconv"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/prometheus/client_golang/prometheus"
)

type metrics struct {
	requests *prometheus.HistogramVec
	claims   *prometheus.CounterVec
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		requests: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "regie_http_request_duration_seconds",
			Help:    "HTTP requests by route, method and status.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5},
		}, []string{"route", "method", "status"}),
		claims: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "regie_claims_total",
			Help: "Claim decisions by status and reason (replays not counted).",
		}, []string{"status", "reason"}),
	}
	reg.MustRegister(m.requests, m.claims)
	return m
}

// observe records every request's duration and logs it. The route pattern,
// not the path, is the label and the log field: paths carry ids.
func (s *Server) observe(c *fiber.Ctx) error {
	start := time.Now()
	err := c.Next()
	if err != nil {
		// Let the error handler write the response now, so the status is known.
		if herr := s.errorHandler(c, err); herr != nil {
			_ = c.SendStatus(fiber.StatusInternalServerError)
		}
	}
	status := c.Response().StatusCode()
	route := c.Route().Path
	elapsed := time.Since(start)
	s.metrics.requests.WithLabelValues(route, c.Method(), strconv.Itoa(status)).Observe(elapsed.Seconds())
	s.log.LogAttrs(c.UserContext(), slog.LevelDebug, "request",
		slog.String("method", c.Method()), slog.String("route", route),
		slog.Int("status", status), slog.Duration("elapsed", elapsed))
	return nil
}
