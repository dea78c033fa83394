package web

import (
	"bufio"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/regie-nl/regie/settlement"
)

// Server-sent events: GET /api/v1/regions/{id}/events (docs/api/monitoring.md).
//
// The store reports every commit that changed a region (settlement.Change),
// on its committing goroutine, to Monitor.changed, which only marks the
// region and wakes the publisher: a settlement never waits for a listener.
// The publisher reads the region's figures once per round (at most one round
// per MonitorOptions.Interval), encodes them once and offers the bytes to
// every listener's bounded queue; a full queue drops its oldest event and
// counts it. Each listener's stream writer takes from its queue, writes and
// flushes, sends a heartbeat comment when idle, and ends when the client is
// gone, on shutdown, or when the monitor stops.

// MonitorOptions tune the event stream and the webhook sender. Zero values
// take the defaults.
type MonitorOptions struct {
	// Interval is the least time between two publications of a region's
	// figures; 250 ms by default (an update reaches listeners well within 1 s).
	Interval time.Duration
	// Heartbeat is how often an idle stream sends a comment; 15 s by default.
	Heartbeat time.Duration
	// QueueSize is how many events a listener may have waiting; 64 by default.
	QueueSize int
	// WebhookBackoff is the wait before the second attempt of a webhook; it
	// doubles with every attempt up to WebhookMaxBackoff. 2 s and 10 min by default.
	WebhookBackoff, WebhookMaxBackoff time.Duration
	// WebhookAttempts is how many attempts an alert gets; 10 by default.
	WebhookAttempts int
	// WebhookTimeout bounds one attempt; 10 s by default.
	WebhookTimeout time.Duration
	// WebhookPoll is how often the sender looks for attempts that are due
	// besides when alerts are recorded and when a retry falls due (after a
	// restart, say); 30 s by default.
	WebhookPoll time.Duration
	// WebhookClient sends the webhooks; one that follows no redirects by default.
	WebhookClient *http.Client
}

func (o MonitorOptions) withDefaults() MonitorOptions {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&o.Interval, 250*time.Millisecond)
	def(&o.Heartbeat, 15*time.Second)
	def(&o.WebhookBackoff, 2*time.Second)
	def(&o.WebhookMaxBackoff, 10*time.Minute)
	def(&o.WebhookTimeout, 10*time.Second)
	def(&o.WebhookPoll, 30*time.Second)
	if o.QueueSize <= 0 {
		o.QueueSize = 64
	}
	if o.WebhookAttempts <= 0 {
		o.WebhookAttempts = 10
	}
	if o.WebhookClient == nil {
		o.WebhookClient = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	}
	return o
}

// Metrics of the event stream and the webhooks, shared by every server in
// the process; `regie serve` registers them (MonitoringCollectors).
var (
	metricListeners = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "regie_event_listeners", Help: "Connected server-sent event listeners.",
	})
	metricEvents = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "regie_events_published_total", Help: "Events offered to listeners.",
	})
	metricDropped = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "regie_events_dropped_total", Help: "Events dropped, oldest first, because a listener's queue was full.",
	})
	metricWebhooks = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "regie_webhook_attempts_total", Help: "Webhook delivery attempts by outcome.",
	}, []string{"outcome"})
)

// MonitoringCollectors are the metrics of the event stream and webhooks.
func MonitoringCollectors() []prometheus.Collector {
	return []prometheus.Collector{metricListeners, metricEvents, metricDropped, metricWebhooks}
}

// EventQueue is a listener's bounded queue of encoded events. Offer never
// blocks: when the queue is full it drops the oldest event and counts it.
// It has one producer (the publisher) and one consumer (the stream writer).
type EventQueue struct {
	ch      chan []byte
	dropped atomic.Int64
}

// NewEventQueue returns a queue for n events.
func NewEventQueue(n int) *EventQueue { return &EventQueue{ch: make(chan []byte, max(n, 1))} }

// Offer queues msg, dropping the oldest queued events while the queue is full.
func (q *EventQueue) Offer(msg []byte) {
	for {
		select {
		case q.ch <- msg:
			return
		default:
		}
		select {
		case <-q.ch:
			q.dropped.Add(1)
			metricDropped.Inc()
		default:
		}
	}
}

// C is the channel the consumer takes events from.
func (q *EventQueue) C() <-chan []byte { return q.ch }

// Dropped is how many events the queue dropped so far.
func (q *EventQueue) Dropped() int64 { return q.dropped.Load() }

// Monitor is a server's event hub and webhook sender.
type Monitor struct {
	settle *settlement.Service
	log    *slog.Logger

	mu        sync.Mutex
	opts      MonitorOptions
	listeners map[string]map[*listener]struct{}
	dirty     map[string]*pending // regions changed since the last round
	started   bool
	stopped   bool

	wake   chan struct{}
	done   chan struct{}
	ctx    context.Context // cancelled by Close
	cancel context.CancelFunc
	wg     sync.WaitGroup
	stop   func() // ends the store's calls to changed
	hooks  *webhooks
}

type pending struct {
	first, last uint64 // alert seqs recorded, 0 when none
}

type listener struct {
	region string
	q      *EventQueue
}

// monitors maps each Server to its Monitor (Server's fields are fixed in server.go).
var monitors sync.Map // *Server → *Monitor

// Monitor returns the server's event hub and webhook sender.
func (s *Server) Monitor() *Monitor {
	if m, ok := monitors.Load(s); ok {
		return m.(*Monitor)
	}
	return nil
}

func newMonitor(s *Server) *Monitor {
	m := &Monitor{
		settle: s.settle, log: s.log, opts: MonitorOptions{}.withDefaults(),
		listeners: map[string]map[*listener]struct{}{}, dirty: map[string]*pending{},
		wake: make(chan struct{}, 1), done: make(chan struct{}),
	}
	m.ctx, m.cancel = context.WithCancel(context.Background())
	m.hooks = newWebhooks(m)
	monitors.Store(s, m)
	s.app.Hooks().OnShutdown(func() error {
		m.Close()
		monitors.Delete(s)
		return nil
	})
	m.start()
	return m
}

// SetOptions changes the options; the next round of each loop uses them.
func (m *Monitor) SetOptions(o MonitorOptions) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.opts = o.withDefaults()
}

func (m *Monitor) options() MonitorOptions {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.opts
}

// start registers with the store and starts the publisher and the sender.
func (m *Monitor) start() {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.started {
		return
	}
	m.started = true
	m.stop = m.settle.Watch(m.changed)
	m.wg.Add(2)
	go func() { defer m.wg.Done(); m.publish() }()
	go func() { defer m.wg.Done(); m.hooks.run() }()
}

// Close stops the publisher and the sender and ends every stream. It may be
// called more than once.
func (m *Monitor) Close() {
	m.mu.Lock()
	if m.stopped {
		m.mu.Unlock()
		return
	}
	m.stopped = true
	stop := m.stop
	close(m.done)
	m.cancel()
	m.mu.Unlock()
	if stop != nil {
		stop()
	}
	m.wg.Wait()
}

// changed is called by the store after a commit: it marks the region and
// wakes the publisher, and never blocks.
func (m *Monitor) changed(ch settlement.Change) {
	m.mu.Lock()
	p := m.dirty[ch.Region]
	if p == nil {
		p = &pending{}
		m.dirty[ch.Region] = p
	}
	if ch.Alerts > 0 {
		first := ch.LastAlert - uint64(ch.Alerts) + 1
		if p.first == 0 || first < p.first {
			p.first = first
		}
		p.last = max(p.last, ch.LastAlert)
	}
	m.mu.Unlock()
	select {
	case m.wake <- struct{}{}:
	default:
	}
}

// Listeners returns the number of connected listeners of a region ("" for all).
func (m *Monitor) Listeners(region string) int {
	m.mu.Lock()
	defer m.mu.Unlock()
	if region != "" {
		return len(m.listeners[region])
	}
	n := 0
	for _, ls := range m.listeners {
		n += len(ls)
	}
	return n
}

func (m *Monitor) add(region string, size int) *listener {
	l := &listener{region: region, q: NewEventQueue(size)}
	m.mu.Lock()
	if m.listeners[region] == nil {
		m.listeners[region] = map[*listener]struct{}{}
	}
	m.listeners[region][l] = struct{}{}
	m.mu.Unlock()
	metricListeners.Inc()
	return l
}

func (m *Monitor) remove(l *listener) {
	m.mu.Lock()
	delete(m.listeners[l.region], l)
	if len(m.listeners[l.region]) == 0 {
		delete(m.listeners, l.region)
	}
	m.mu.Unlock()
	metricListeners.Dec()
}

func (m *Monitor) snapshot(region string) []*listener {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]*listener, 0, len(m.listeners[region]))
	for l := range m.listeners[region] {
		out = append(out, l)
	}
	return out
}

// publish is the publisher loop: one round per wake-up, at most one round
// per Interval.
func (m *Monitor) publish() {
	for {
		select {
		case <-m.wake:
		case <-m.done:
			return
		}
		m.mu.Lock()
		dirty := m.dirty
		m.dirty = map[string]*pending{}
		m.mu.Unlock()
		webhooks := false
		for region, p := range dirty {
			if p.last > 0 {
				webhooks = true
			}
			m.publishRegion(region, p)
		}
		if webhooks {
			m.hooks.poke()
		}
		select {
		case <-time.After(m.options().Interval):
		case <-m.done:
			return
		}
	}
}

// publishRegion offers a region's new alerts and its figures to its listeners.
func (m *Monitor) publishRegion(region string, p *pending) {
	ls := m.snapshot(region)
	if len(ls) == 0 {
		return
	}
	ctx := m.ctx
	if p.last > 0 {
		as, err := m.settle.AlertsSince(ctx, region, p.first-1, int(p.last-p.first+1))
		if err != nil {
			m.log.Error("events: read alerts", slog.String("region", region), slog.Any("err", err))
		}
		for _, a := range as {
			broadcast(ls, alertEvent(a))
		}
	}
	f, err := m.settle.LiveFigures(ctx, region)
	if err != nil {
		m.log.Error("events: read figures", slog.String("region", region), slog.Any("err", err))
		return
	}
	broadcast(ls, figuresEvent(f))
}

func broadcast(ls []*listener, msg []byte) {
	for _, l := range ls {
		l.q.Offer(msg)
		metricEvents.Inc()
	}
}

// sseEvent encodes one event: "id: …\nevent: name\ndata: json\n\n".
func sseEvent(id, name string, v any) []byte {
	data, err := json.Marshal(v)
	if err != nil {
		data = []byte(`{"error":"encode"}`)
	}
	b := make([]byte, 0, len(data)+len(name)+32)
	if id != "" {
		b = append(b, "id: "...)
		b = append(b, id...)
		b = append(b, '\n')
	}
	b = append(b, "event: "...)
	b = append(b, name...)
	b = append(b, "\ndata: "...)
	b = append(b, data...)
	return append(b, "\n\n"...)
}

func figuresEvent(f settlement.Figures) []byte { return sseEvent("", "figures", f) }

func alertEvent(a settlement.Alert) []byte {
	return sseEvent(strconv.FormatUint(a.Seq, 10), "alert", a)
}

// events serves a region's stream to its funders and auditors: the alerts
// after Last-Event-ID (when sent), the figures now, then every alert and
// every change of the figures as it happens.
func (m *Monitor) events(c *fiber.Ctx) error {
	region := c.Params("id")
	p := principal(c)
	ctx := c.UserContext()
	if _, err := m.settle.Figures(ctx, p, region); err != nil {
		return err // role, scope, region
	}
	lastID := c.Get("Last-Event-ID")
	var after uint64
	if lastID != "" {
		n, err := strconv.ParseUint(lastID, 10, 64)
		if err != nil {
			return fieldQueryError("Last-Event-ID", "Last-Event-ID is the seq of the last alert received")
		}
		after = n
	}
	opts := m.options()
	select {
	case <-m.done:
		return fiber.ErrServiceUnavailable
	default:
	}
	// Listen before reading what to send first, so that nothing in between is lost.
	l := m.add(region, opts.QueueSize)
	var first [][]byte
	if lastID != "" {
		as, err := m.settle.AlertsSince(ctx, region, after, 100)
		if err != nil {
			m.remove(l)
			return err
		}
		for _, a := range as {
			first = append(first, alertEvent(a))
		}
	}
	f, err := m.settle.LiveFigures(ctx, region)
	if err != nil {
		m.remove(l)
		return err
	}
	first = append(first, figuresEvent(f))

	c.Set(fiber.HeaderContentType, "text/event-stream; charset=utf-8")
	c.Set(fiber.HeaderCacheControl, "no-cache")
	c.Set("X-Accel-Buffering", "no")
	rc := c.Context()
	shutdown := rc.Done() // closed when the server shuts down
	conn := rc.Conn()
	// The server's WriteTimeout is a deadline for the whole response; a
	// stream moves it forward before every write.
	deadline := func() {
		if conn != nil {
			_ = conn.SetWriteDeadline(time.Now().Add(2*opts.Heartbeat + 10*time.Second))
		}
	}
	rc.SetBodyStreamWriter(func(w *bufio.Writer) {
		defer m.remove(l)
		deadline()
		w.WriteString("retry: 2000\n\n")
		for _, msg := range first {
			w.Write(msg)
		}
		if w.Flush() != nil {
			return
		}
		beat := time.NewTicker(opts.Heartbeat)
		defer beat.Stop()
		var reported int64
		for {
			select {
			case msg := <-l.q.C():
				w.Write(msg)
				if d := l.q.Dropped(); d > reported {
					w.Write(sseEvent("", "dropped", map[string]int64{"dropped": d}))
					reported = d
				}
			case <-beat.C:
				w.WriteString(": heartbeat\n\n")
			case <-shutdown:
				return
			case <-m.done:
				return
			}
			deadline()
			if w.Flush() != nil {
				return // the client is gone
			}
		}
	})
	return nil
}
