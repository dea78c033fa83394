package web

import (
	"bytes"
	"encoding/csv"
	"errors"
	"io"
	"mime"
	"strings"

	"github.com/gofiber/fiber/v2"
	"github.com/regie-nl/regie"
	"github.com/regie-nl/regie/settlement"
)

// csvColumns is the documented column layout of a CSV batch (docs/api/settlement.md).
var csvColumns = []string{"claim_id", "voucher_id", "product", "from", "to", "units", "unit_price"}

// lineOutcome is the answer for one line of a batch.
type lineOutcome struct {
	Line       int         `json:"line"`
	ClaimID    string      `json:"claim_id"`
	Status     string      `json:"status"` // accepted, held, rejected, or invalid
	Reason     string      `json:"reason,omitempty"`
	Amount     regie.Cents `json:"amount"`
	Payable    regie.Cents `json:"payable"`
	Replayed   bool        `json:"replayed,omitempty"`
	JournalSeq uint64      `json:"journal_seq,omitempty"`
	Error      *Problem    `json:"error,omitempty"`
}

type batchSummary struct {
	Lines    int         `json:"lines"`
	Accepted int         `json:"accepted"`
	Held     int         `json:"held"`
	Rejected int         `json:"rejected"`
	Invalid  int         `json:"invalid"`
	Replayed int         `json:"replayed"`
	Amount   regie.Cents `json:"amount"` // accepted and held, this request and replays
}

// submitBatch takes up to 10,000 claims as JSON {"claims":[…]} or as CSV
// (text/csv, header row with the columns of csvColumns). Every line is decided
// on its own, atomically and idempotently; the answer has one outcome per line
// in order and a summary. Lines 1-based for CSV (after the header), 0-based
// for JSON (the array index).
func (s *Server) submitBatch(c *fiber.Ctx) error {
	mt, _, _ := mime.ParseMediaType(c.Get(fiber.HeaderContentType))
	var (
		reqs    []claimRequest
		lineErr []error
		first   int
		err     error
	)
	switch mt {
	case "text/csv":
		reqs, lineErr, err = parseCSVBatch(c.Body())
		first = 1
	default:
		var in struct {
			Claims []claimRequest `json:"claims"`
		}
		err = decodeJSON(c, &in)
		reqs, lineErr = in.Claims, make([]error, len(in.Claims))
	}
	if err != nil {
		return err
	}
	claims := make([]settlement.Claim, len(reqs))
	for i, r := range reqs {
		claims[i] = r.claim()
	}
	results, err := s.settle.SubmitBatch(c.UserContext(), principal(c), claims)
	if err != nil {
		return err
	}
	out := struct {
		Results []lineOutcome `json:"results"`
		Summary batchSummary  `json:"summary"`
	}{Results: make([]lineOutcome, len(results))}
	sum := &out.Summary
	sum.Lines = len(results)
	for i, r := range results {
		o := lineOutcome{Line: first + i, ClaimID: reqs[i].ClaimID}
		if lineErr[i] != nil {
			r.Err = lineErr[i] // a CSV field that did not parse wins over validation
		}
		switch {
		case r.Err != nil:
			o.Status = "invalid"
			o.Error = s.problemOf(c, r.Err)
			sum.Invalid++
		default:
			d := r.Decision
			o.Status, o.Reason, o.Amount, o.Payable, o.Replayed, o.JournalSeq = string(d.Status), d.Reason, d.Amount, d.Payable, r.Replay, d.JournalSeq
			switch d.Status {
			case settlement.Accepted:
				sum.Accepted++
			case settlement.Held:
				sum.Held++
			default:
				sum.Rejected++
			}
			sum.Amount += d.Amount
			if r.Replay {
				sum.Replayed++
			} else {
				s.metrics.claims.WithLabelValues(string(d.Status), d.Reason).Inc()
			}
		}
		out.Results[i] = o
	}
	return c.JSON(out)
}

// parseCSVBatch reads a CSV batch. A malformed file is an error for the whole
// request; a field that does not parse is an error for its line only.
func parseCSVBatch(body []byte) ([]claimRequest, []error, error) {
	// A spreadsheet's CSV export may start with a UTF-8 byte order mark.
	r := csv.NewReader(bytes.NewReader(bytes.TrimPrefix(body, []byte("\ufeff"))))
	r.FieldsPerRecord = len(csvColumns)
	r.TrimLeadingSpace = true
	header, err := r.Read()
	if err != nil {
		return nil, nil, regie.Errorf(regie.Invalid, "csv_malformed", "the CSV has no header row: %v", err)
	}
	if strings.Join(header, ",") != strings.Join(csvColumns, ",") {
		return nil, nil, regie.Errorf(regie.Invalid, "csv_header", "the header row must be %s", strings.Join(csvColumns, ","))
	}
	var (
		reqs []claimRequest
		errs []error
	)
	for {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, nil, regie.Errorf(regie.Invalid, "csv_malformed", "the CSV is malformed: %v", err)
		}
		req, lineErr := parseCSVLine(rec)
		reqs, errs = append(reqs, req), append(errs, lineErr)
	}
	return reqs, errs, nil
}

func parseCSVLine(rec []string) (claimRequest, error) {
	req := claimRequest{ClaimID: rec[0], VoucherID: rec[1], Product: rec[2]}
	var err error
	field := func(name string, parse func() error) {
		if err != nil {
			return
		}
		if perr := parse(); perr != nil {
			var e *regie.Error
			if errors.As(perr, &e) {
				e.Field = name
			}
			err = perr
		}
	}
	field("from", func() (e error) { req.From, e = regie.ParseDate(rec[3]); return })
	field("to", func() (e error) { req.To, e = regie.ParseDate(rec[4]); return })
	field("units", func() (e error) { req.Units, e = regie.ParseUnits(rec[5]); return })
	field("unit_price", func() (e error) { req.UnitPrice, e = regie.ParseCents(rec[6]); return })
	return req, err
}
