package loadgen

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/regie-nl/regie"
)

// Listeners: with Config.Listeners set, every phase is driven four times for
// half its duration: without, with, with and without that many server-sent
// event listeners connected (GET /api/v1/regions/{id}/events as a funder,
// spread over the regions of the vouchers), so that one run reports the
// throughput with and without them side by side, and a steady drift over the
// run (the store grows) weighs on both alike.

// ListenerReport is what the listeners of a phase received.
type ListenerReport struct {
	Connected int   // listeners that received their first figures
	Events    int64 // figures and alert events received
	Figures   int64
	Alerts    int64
	Dropped   int64 // as the server reported in "dropped" events
	Failed    int   // listeners that could not connect
	Samples   []string
}

// listeners is a set of connected event streams.
type listeners struct {
	cancel                           context.CancelFunc
	wg                               sync.WaitGroup
	events, figures, alerts, dropped atomic.Int64
	mu                               sync.Mutex
	failed                           int
	samples                          []string
}

// listen connects n event streams to the regions, round-robin, and returns
// once each has received its first figures event or failed.
func listen(ctx context.Context, base, token string, regions []string, n int) *listeners {
	ctx, cancel := context.WithCancel(ctx)
	ls := &listeners{cancel: cancel}
	client := &http.Client{Transport: &http.Transport{
		Proxy: nil, DialContext: (&net.Dialer{Timeout: 5 * time.Second}).DialContext,
		MaxConnsPerHost: 0, DisableCompression: true, ResponseHeaderTimeout: 10 * time.Second,
	}}
	var ready sync.WaitGroup
	for i := range n {
		region := regions[i%len(regions)]
		ready.Add(1)
		ls.wg.Go(func() { ls.stream(ctx, client, base+"/api/v1/regions/"+region+"/events", token, ready.Done) })
	}
	ready.Wait()
	return ls
}

func (ls *listeners) fail(format string, args ...any) {
	ls.mu.Lock()
	defer ls.mu.Unlock()
	ls.failed++
	if len(ls.samples) < maxSamples {
		ls.samples = append(ls.samples, fmt.Sprintf(format, args...))
	}
}

// stream reads one event stream until ctx ends, counting its events; ready
// is called once, at the first figures event or on failure.
func (ls *listeners) stream(ctx context.Context, client *http.Client, url, token string, ready func()) {
	once := sync.OnceFunc(ready)
	defer once()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		ls.fail("%v", err)
		return
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Accept", "text/event-stream")
	resp, err := client.Do(req)
	if err != nil {
		ls.fail("GET %s: %v", url, err)
		return
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		ls.fail("GET %s: %d", url, resp.StatusCode)
		return
	}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	event := ""
	var dropped int64 // this stream's running total, as the server reports it
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "event: "):
			event = line[len("event: "):]
		case strings.HasPrefix(line, "data: ") && event == "dropped":
			var n int64
			if _, err := fmt.Sscanf(line, `data: {"dropped":%d}`, &n); err == nil && n > dropped {
				ls.dropped.Add(n - dropped)
				dropped = n
			}
		case line == "" && event != "":
			switch event {
			case "figures":
				ls.figures.Add(1)
				ls.events.Add(1)
				once()
			case "alert":
				ls.alerts.Add(1)
				ls.events.Add(1)
			}
			event = ""
		}
	}
}

// close disconnects every stream and reports what they received. Counts
// include the first figures of each listener.
func (ls *listeners) close(n int) ListenerReport {
	ls.cancel()
	ls.wg.Wait()
	ls.mu.Lock()
	defer ls.mu.Unlock()
	return ListenerReport{
		Connected: n - ls.failed, Events: ls.events.Load(), Figures: ls.figures.Load(), Alerts: ls.alerts.Load(),
		Dropped: ls.dropped.Load(), Failed: ls.failed, Samples: ls.samples,
	}
}

// listenerToken is a funder's token for the regions of the fixture.
func (t *tokens) listenerToken(regions []string) (string, error) {
	return t.mint(regie.RoleFunder, "loadgen-listener", regions...)
}
