package kvstore

import (
	"errors"
	"github.com/regie-nl/regie"
	"sync"
	"sync/atomic"
	"time"

	"github.com/regie-nl/regie/store/kv"
)

// committer is group commit for settlements: one goroutine runs every queued
// request in one read-write transaction and one fsync. While a commit is on
// disk, new requests queue, so batches grow with the load by themselves and
// no request waits for a timer (bbolt's own db.Batch waits MaxBatchDelay for
// every batch that is not full). Each request stays atomic: it sees the
// effects of those before it in the batch, and when one fails with an error
// the batch is rolled back and every request is run again alone.
type committer struct {
	db       kv.DB
	requests chan *commitRequest // unbuffered: a request is either taken or refused
	quit     chan struct{}
	stopped  chan struct{}
	stopOnce sync.Once
	maxBatch int
	delay    time.Duration

	// What the commits cost, for metrics and benchmarks.
	batches, settlements, pages, nanos atomic.Int64
}

// CommitStats are totals over the store's group commits of settlements.
type CommitStats struct {
	Batches     int64         // transactions committed
	Settlements int64         // settlements in them
	Pages       int64         // pages written (bbolt only)
	Time        time.Duration // time in those transactions, fsync included
}

type commitRequest struct {
	fn   func(w *writeTx) error
	done chan error
}

var errClosed = errors.New("store: closed")

func newCommitter(db kv.DB, maxBatch int, delay time.Duration) *committer {
	c := &committer{
		db: db, requests: make(chan *commitRequest), quit: make(chan struct{}), stopped: make(chan struct{}),
		maxBatch: maxBatch, delay: delay,
	}
	go c.run()
	return c
}

// do runs fn in a shared transaction and returns when it is durable. fn may
// run more than once (when a batch is retried); it must assign its results
// afresh on every run.
func (c *committer) do(fn func(w *writeTx) error) error {
	r := &commitRequest{fn: fn, done: make(chan error, 1)}
	select {
	case c.requests <- r:
		return <-r.done
	case <-c.quit:
		return errClosed
	}
}

// close stops taking requests and returns when the last batch is committed.
// It may be called more than once.
func (c *committer) close() {
	c.stopOnce.Do(func() { close(c.quit) })
	<-c.stopped
}

func (c *committer) run() {
	defer close(c.stopped)
	for {
		select {
		case first := <-c.requests:
			c.commit(c.collect(first))
		case <-c.quit:
			return
		}
	}
}

// collect takes the requests that are waiting now, up to maxBatch, waiting up
// to delay for more when a delay is set.
func (c *committer) collect(first *commitRequest) []*commitRequest {
	batch := []*commitRequest{first}
	var deadline <-chan time.Time
	if c.delay > 0 {
		t := time.NewTimer(c.delay)
		defer t.Stop()
		deadline = t.C
	}
	for len(batch) < c.maxBatch {
		select {
		case r := <-c.requests:
			batch = append(batch, r)
			continue
		default:
		}
		if deadline == nil {
			break
		}
		select {
		case r := <-c.requests:
			batch = append(batch, r)
			continue
		case <-deadline:
		}
		break
	}
	return batch
}

func (c *committer) commit(batch []*commitRequest) {
	pages, _ := c.db.(interface{ WrittenPages() int64 }) // bbolt counts them
	var before int64
	if pages != nil {
		before = pages.WrittenPages()
	}
	start := time.Now()
	defer func() {
		c.batches.Add(1)
		c.settlements.Add(int64(len(batch)))
		if pages != nil {
			c.pages.Add(pages.WrittenPages() - before)
		}
		c.nanos.Add(int64(time.Since(start)))
	}()
	failed := false
	err := c.db.Update(func(tx kv.Tx) error {
		w := newWriteTx(tx)
		for _, r := range batch {
			if err := r.fn(w); err != nil {
				failed = true
				return err
			}
		}
		return w.flush()
	})
	// A store that is down fails every request alike: run none again.
	if err == nil || !failed || regie.ErrorKind(err) == regie.Unavailable {
		for _, r := range batch {
			r.done <- err // nil, or the commit itself failed for all
		}
		return
	}
	for _, r := range batch {
		r.done <- c.db.Update(func(tx kv.Tx) error {
			w := newWriteTx(tx)
			if err := r.fn(w); err != nil {
				return err
			}
			return w.flush()
		})
	}
}
