package web

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/regie-nl/regie/settlement"
)

// Webhooks: every alert of a region with a webhook is queued in the store in
// the transaction that recorded it, so that none is lost by a restart. The
// sender polls the queue (and is poked when alerts are recorded), posts each
// due alert, and records every attempt in the delivery log; a failed attempt
// is tried again after a backoff that doubles each time, until the attempts
// run out.

// SignatureHeader carries "sha256=" and the hex HMAC-SHA256 of the body,
// keyed with the region's webhook secret.
const SignatureHeader = "Regie-Signature"

// Sign returns the signature header value of body under secret.
func Sign(secret string, body []byte) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write(body)
	return "sha256=" + hex.EncodeToString(mac.Sum(nil))
}

// WebhookPayload is the JSON body of a webhook delivery.
type WebhookPayload struct {
	Type     string           `json:"type"` // "budget_alert"
	Delivery string           `json:"delivery"`
	Attempt  int              `json:"attempt"`
	SentAt   time.Time        `json:"sent_at"`
	Alert    settlement.Alert `json:"alert"`
}

type webhooks struct {
	m        *Monitor
	wake     chan struct{}
	mu       sync.Mutex
	inFlight map[string]bool
	sem      chan struct{}
	wg       sync.WaitGroup
}

func newWebhooks(m *Monitor) *webhooks {
	return &webhooks{m: m, wake: make(chan struct{}, 1), inFlight: map[string]bool{}, sem: make(chan struct{}, 8)}
}

// poke makes the sender look for due deliveries now.
func (h *webhooks) poke() {
	select {
	case h.wake <- struct{}{}:
	default:
	}
}

func (h *webhooks) run() {
	defer h.wg.Wait()
	for {
		h.sendDue()
		t := time.NewTimer(h.m.options().WebhookPoll)
		select {
		case <-h.wake:
		case <-t.C:
		case <-h.m.done:
			t.Stop()
			return
		}
		t.Stop()
	}
}

// sendDue starts an attempt for every due delivery not already under way.
func (h *webhooks) sendDue() {
	ds, err := h.m.settle.DueDeliveries(h.m.ctx, time.Now(), 100)
	if err != nil {
		h.m.log.Error("webhooks: read the queue", slog.Any("err", err))
		return
	}
	for _, d := range ds {
		id := d.Alert.Region + "-" + strconv.FormatUint(d.Alert.Seq, 10)
		h.mu.Lock()
		busy := h.inFlight[id]
		h.inFlight[id] = true
		h.mu.Unlock()
		if busy {
			continue
		}
		select {
		case h.sem <- struct{}{}:
		case <-h.m.done:
			return
		}
		h.wg.Add(1)
		go func() {
			var retryIn time.Duration
			defer func() {
				<-h.sem
				h.mu.Lock()
				delete(h.inFlight, id)
				h.mu.Unlock()
				// Only now, with the attempt recorded and the delivery no
				// longer in flight, may the retry's timer wake the sender:
				// earlier, the sender would skip it and nothing would wake it
				// again until the next poll.
				if retryIn > 0 {
					time.AfterFunc(retryIn, h.poke)
				}
				h.wg.Done()
			}()
			retryIn = h.attempt(d, id)
		}()
	}
}

// attempt posts one delivery and records the attempt. It returns the wait
// before the next attempt when one is due, else 0.
func (h *webhooks) attempt(d settlement.Delivery, id string) (retryIn time.Duration) {
	opts := h.m.options()
	a := settlement.DeliveryAttempt{Region: d.Alert.Region, AlertSeq: d.Alert.Seq, Attempt: d.Attempts + 1, At: time.Now().UTC()}
	if d.Webhook == nil || d.Webhook.URL == "" {
		a.Outcome = settlement.OutcomeDropped
		a.Error = "the region has no webhook any more"
		h.record(a)
		return 0
	}
	a.URL = d.Webhook.URL
	body, err := json.Marshal(WebhookPayload{Type: "budget_alert", Delivery: id, Attempt: a.Attempt, SentAt: a.At, Alert: d.Alert})
	if err != nil {
		a.Error = err.Error()
	} else {
		a.Status, err = post(h.m.ctx, opts, d.Webhook, id, a.Attempt, body)
		if err != nil {
			a.Error = truncate(err.Error(), 300)
		}
	}
	if h.m.ctx.Err() != nil {
		return 0 // shut down mid-attempt: it stays due and is made again after a restart
	}
	a.DurationMS = time.Since(a.At).Milliseconds()
	switch {
	case err == nil && a.Status >= 200 && a.Status < 300:
		a.Outcome = settlement.OutcomeDelivered
	case a.Attempt >= opts.WebhookAttempts:
		a.Outcome = settlement.OutcomeFailed
	default:
		a.Outcome = settlement.OutcomeRetry
		retryIn = backoff(opts, a.Attempt)
		a.NextAt = time.Now().Add(retryIn).UTC()
	}
	if a.Error == "" && a.Outcome != settlement.OutcomeDelivered {
		a.Error = fmt.Sprintf("answered %d", a.Status)
	}
	h.record(a)
	return retryIn
}

func (h *webhooks) record(a settlement.DeliveryAttempt) {
	metricWebhooks.WithLabelValues(a.Outcome).Inc()
	if err := h.m.settle.RecordDelivery(h.m.ctx, a); err != nil {
		h.m.log.Error("webhooks: record an attempt", slog.String("region", a.Region), slog.Uint64("alert", a.AlertSeq), slog.Any("err", err))
		return
	}
	if a.Outcome != settlement.OutcomeDelivered {
		h.m.log.Warn("webhook attempt failed", slog.String("region", a.Region), slog.Uint64("alert", a.AlertSeq),
			slog.Int("attempt", a.Attempt), slog.String("outcome", a.Outcome), slog.String("error", a.Error))
	}
}

// backoff is the wait after attempt n: WebhookBackoff × 2^(n−1), at most WebhookMaxBackoff.
func backoff(o MonitorOptions, n int) time.Duration {
	d := o.WebhookBackoff
	for i := 1; i < n && d < o.WebhookMaxBackoff; i++ {
		d *= 2
	}
	return min(d, o.WebhookMaxBackoff)
}

// post sends body to the webhook and returns the answer's status.
func post(ctx context.Context, o MonitorOptions, wh *settlement.Webhook, id string, attempt int, body []byte) (int, error) {
	ctx, cancel := context.WithTimeout(ctx, o.WebhookTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, wh.URL, bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "regie-webhook/1")
	req.Header.Set("Regie-Event", "budget_alert")
	req.Header.Set("Regie-Delivery", id+"-"+strconv.Itoa(attempt))
	req.Header.Set(SignatureHeader, Sign(wh.Secret, body))
	resp, err := o.WebhookClient.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	return resp.StatusCode, nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
