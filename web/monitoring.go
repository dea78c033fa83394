package web

import (
	"bufio"
	"context"
	"encoding/csv"
	"encoding/json"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/regie-nl/regie"
	"github.com/regie-nl/regie/settlement"
)

// monitoringRoutes are the budget monitoring endpoints (docs/api/monitoring.md):
// drill-downs and the daily series of a region's figures, its event stream,
// alerts, alert settings and webhook deliveries, the provider's view of its
// funding, and CSV exports. GET /regions/{id}/budget (regions.go) answers
// the figures with their outlook.
func (s *Server) monitoringRoutes(api fiber.Router, auth fiber.Handler) {
	m := newMonitor(s)
	api.Get("/regions/:id/budget/providers", auth, s.providerBreakdown)
	api.Get("/regions/:id/budget/products", auth, s.productBreakdown)
	api.Get("/regions/:id/budget/days", auth, s.budgetDays)
	api.Get("/regions/:id/events", auth, m.events)
	api.Get("/regions/:id/alerts", auth, s.listAlerts)
	api.Get("/regions/:id/alerts/settings", auth, s.alertSettings)
	api.Put("/regions/:id/alerts/settings", auth, s.setAlertSettings)
	api.Get("/regions/:id/alerts/deliveries", auth, s.listDeliveries)
	api.Get("/regions/:id/export/claims.csv", auth, s.exportClaims)
	api.Get("/regions/:id/export/journal.csv", auth, s.exportJournal)
	api.Get("/providers/:agb/funding", auth, s.providerFunding)
	api.Get("/providers/:agb/funding/claims", auth, s.providerClaims)
}

func fieldQueryError(name, msg string) error {
	return regie.FieldError(name, "query_invalid", "%s", msg)
}

// dateQuery reads an optional date parameter; zero when absent.
func dateQuery(c *fiber.Ctx, name string) (regie.Date, error) {
	v := c.Query(name)
	if v == "" {
		return 0, nil
	}
	d, err := regie.ParseDate(v)
	if err != nil {
		return 0, regie.FieldError(name, regie.ErrorCode(err), "%s must be a date YYYY-MM-DD", name)
	}
	return d, nil
}

// intQuery reads an optional non-negative integer parameter; zero when absent.
func intQuery(c *fiber.Ctx, name string) (uint64, error) {
	v := c.Query(name)
	if v == "" {
		return 0, nil
	}
	n, err := strconv.ParseUint(v, 10, 32)
	if err != nil {
		return 0, fieldQueryError(name, name+" must be a whole number")
	}
	return n, nil
}

func (s *Server) providerBreakdown(c *fiber.Ctx) error {
	b, err := s.settle.ProviderBreakdown(c.UserContext(), principal(c), c.Params("id"))
	if err != nil {
		return err
	}
	return c.JSON(fiber.Map{"region": b.Region, "figures": b.Figures, "providers": b.Items})
}

func (s *Server) productBreakdown(c *fiber.Ctx) error {
	b, err := s.settle.ProductBreakdown(c.UserContext(), principal(c), c.Params("id"))
	if err != nil {
		return err
	}
	return c.JSON(fiber.Map{"region": b.Region, "figures": b.Figures, "products": b.Items})
}

func (s *Server) budgetDays(c *fiber.Ctx) error {
	from, err := dateQuery(c, "from")
	if err != nil {
		return err
	}
	to, err := dateQuery(c, "to")
	if err != nil {
		return err
	}
	series, err := s.settle.Series(c.UserContext(), principal(c), c.Params("id"), from, to)
	if err != nil {
		return err
	}
	return c.JSON(series)
}

func (s *Server) listAlerts(c *fiber.Ctx) error {
	after, err := intQuery(c, "after")
	if err != nil {
		return err
	}
	limit, err := intQuery(c, "limit")
	if err != nil {
		return err
	}
	as, err := s.settle.Alerts(c.UserContext(), principal(c), c.Params("id"), after, int(limit))
	if err != nil {
		return err
	}
	return c.JSON(fiber.Map{"alerts": as})
}

func (s *Server) alertSettings(c *fiber.Ctx) error {
	v, err := s.settle.AlertSettings(c.UserContext(), principal(c), c.Params("id"))
	if err != nil {
		return err
	}
	return c.JSON(v)
}

func (s *Server) setAlertSettings(c *fiber.Ctx) error {
	var in settlement.AlertSettingsInput
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	v, err := s.settle.SetAlertSettings(c.UserContext(), principal(c), c.Params("id"), in)
	if err != nil {
		return err
	}
	return c.JSON(v)
}

func (s *Server) listDeliveries(c *fiber.Ctx) error {
	limit, err := intQuery(c, "limit")
	if err != nil {
		return err
	}
	ds, err := s.settle.Deliveries(c.UserContext(), principal(c), c.Params("id"), int(limit))
	if err != nil {
		return err
	}
	return c.JSON(fiber.Map{"deliveries": ds})
}

func (s *Server) providerFunding(c *fiber.Ctx) error {
	f, err := s.settle.ProviderFunding(c.UserContext(), principal(c), c.Params("agb"))
	if err != nil {
		return err
	}
	return c.JSON(f)
}

func (s *Server) providerClaims(c *fiber.Ctx) error {
	limit, err := intQuery(c, "limit")
	if err != nil {
		return err
	}
	cs, next, err := s.settle.ProviderClaims(c.UserContext(), principal(c), c.Params("agb"), c.Query("region"), c.Query("after"), int(limit))
	if err != nil {
		return err
	}
	return c.JSON(fiber.Map{"claims": cs, "next": next})
}

// csvFlushRows is how many rows an export writes between flushes.
const csvFlushRows = 500

// streamCSV answers a CSV download whose rows come from rows, streamed: the
// rows are written as they are read (in short store transactions) and
// flushed every csvFlushRows rows, so that no export is held in memory.
// When reading fails halfway, the connection is closed without the final
// chunk, so that the client sees the download fail instead of a short file.
func (s *Server) streamCSV(c *fiber.Ctx, name string, header []string, rows func(ctx context.Context, write func([]string) error) error) {
	c.Set(fiber.HeaderContentType, "text/csv; charset=utf-8")
	c.Set(fiber.HeaderContentDisposition, `attachment; filename="`+name+`"`)
	c.Set(fiber.HeaderCacheControl, "no-store")
	rc := c.Context()
	conn := rc.Conn()
	log := s.log
	path := c.Path()
	rc.SetBodyStreamWriter(func(w *bufio.Writer) {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		cw := csv.NewWriter(w)
		n := 0
		err := cw.Write(header)
		if err == nil {
			err = rows(ctx, func(rec []string) error {
				if err := cw.Write(rec); err != nil {
					return err
				}
				if n++; n%csvFlushRows == 0 {
					cw.Flush()
					if err := cw.Error(); err != nil {
						return err
					}
					return w.Flush()
				}
				return nil
			})
		}
		cw.Flush()
		if err == nil {
			err = cw.Error()
		}
		if err == nil {
			err = w.Flush()
		}
		if err != nil {
			log.Warn("export ended early", slog.String("path", path), slog.Int("rows", n), slog.Any("err", err))
			if conn != nil {
				_ = conn.Close()
			}
		}
	})
}

func periodQuery(c *fiber.Ctx) (from, to regie.Date, err error) {
	if from, err = dateQuery(c, "from"); err != nil {
		return 0, 0, err
	}
	to, err = dateQuery(c, "to")
	return from, to, err
}

func fileName(kind, region string, from, to regie.Date) string {
	name := kind + "-" + region
	if !from.IsZero() {
		name += "-from-" + from.String()
	}
	if !to.IsZero() {
		name += "-to-" + to.String()
	}
	return name + ".csv"
}

// claimColumns is the documented column layout of a claims export.
var claimColumns = []string{
	"decided_at", "decided_on", "region", "provider_agb", "claim_id", "voucher_id", "product", "from", "to",
	"units", "unit_price", "amount", "status", "reason", "beyond_budget", "state", "paid", "funding",
	"journal_seq", "dispute", "reversal_seq",
}

func (s *Server) exportClaims(c *fiber.Ctx) error {
	from, to, err := periodQuery(c)
	if err != nil {
		return err
	}
	region := c.Params("id")
	p := principal(c)
	exp, err := s.settle.ExportClaims(c.UserContext(), p, region, from, to)
	if err != nil {
		return err
	}
	// The funding status is judged against the region as it is now.
	f, err := s.settle.Figures(c.UserContext(), p, region)
	if err != nil {
		return err
	}
	r := settlement.RegionState{Region: settlement.Region{ID: f.Region, Budget: f.Budget}, Settled: f.Settled, Held: f.Held, Closed: f.Closed, FinalRate: f.FinalRate}
	s.streamCSV(c, fileName("claims", region, from, to), claimColumns, func(ctx context.Context, write func([]string) error) error {
		return exp(ctx, func(rec settlement.ClaimRecord) error {
			dispute, reversal := "", ""
			if rec.Dispute != nil {
				dispute = string(rec.Dispute.Status)
			}
			if rec.Reversal != nil {
				reversal = strconv.FormatUint(rec.Reversal.JournalSeq, 10)
			}
			seq := ""
			if rec.JournalSeq != 0 {
				seq = strconv.FormatUint(rec.JournalSeq, 10)
			}
			return write([]string{
				rec.DecidedAt.UTC().Format(time.RFC3339Nano), regie.DateOf(rec.DecidedAt).String(), rec.Region,
				rec.ProviderAGB, rec.ClaimID, rec.VoucherID, rec.Product, rec.From.String(), rec.To.String(),
				rec.Units.String(), rec.UnitPrice.String(), rec.Amount.String(), string(rec.Status), rec.Reason,
				strconv.FormatBool(rec.BeyondBudget), string(rec.State), rec.Paid.String(), settlement.FundingOf(&rec, &r),
				seq, dispute, reversal,
			})
		})
	})
	return nil
}

// journalColumns is the documented column layout of a journal export.
var journalColumns = []string{
	"seq", "at", "type", "provider_agb", "claim_id", "voucher_id", "product", "amount", "reason", "by",
	"policy", "postings", "prev_hash", "hash",
}

func (s *Server) exportJournal(c *fiber.Ctx) error {
	from, to, err := periodQuery(c)
	if err != nil {
		return err
	}
	region := c.Params("id")
	exp, err := s.settle.ExportJournal(c.UserContext(), principal(c), region, from, to)
	if err != nil {
		return err
	}
	s.streamCSV(c, fileName("journal", region, from, to), journalColumns, func(ctx context.Context, write func([]string) error) error {
		var postings strings.Builder
		return exp(ctx, func(e settlement.Entry) error {
			policy := ""
			if e.Policy != nil {
				b, _ := json.Marshal(e.Policy)
				policy = string(b)
			}
			postings.Reset()
			for i, p := range e.Postings {
				if i > 0 {
					postings.WriteByte(';')
				}
				postings.WriteString(p.Account)
				postings.WriteByte('=')
				postings.WriteString(p.Amount.String())
			}
			return write([]string{
				strconv.FormatUint(e.Seq, 10), e.At.UTC().Format(time.RFC3339Nano), string(e.Type),
				e.ProviderAGB, e.ClaimID, e.VoucherID, e.Product, e.Amount.String(), e.Reason, e.By,
				policy, postings.String(), e.PrevHash, e.Hash,
			})
		})
	})
	return nil
}
