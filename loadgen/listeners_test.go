package loadgen_test

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/regie-nl/regie/loadgen"
)

func TestRun_Listeners(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a server and drives it for seconds")
	}
	srv := startDemoServer(t)
	var out bytes.Buffer
	res, err := loadgen.Run(t.Context(), loadgen.Config{
		URL: srv.url, Keys: srv.keys, Pseudonyms: srv.ps,
		Vouchers: 12, Concurrency: 4, Duration: 800 * time.Millisecond, Mode: loadgen.Single, Seed: 3,
		Listeners: 6, SetupConcurrency: 4, Out: &out, Progress: logWriter{t},
	})
	t.Logf("loadgen output:\n%s", out.String())
	if err != nil || res == nil || !res.OK() {
		t.Fatalf("Run: %v", err)
	}
	if len(res.Phases) != 4 {
		t.Fatalf("%d phases, want 4", len(res.Phases))
	}
	for i, want := range []int{0, 6, 6, 0} {
		p := res.Phases[i]
		if p.Listeners != want || p.Accepted == 0 {
			t.Fatalf("phase %d: %d listeners, %d accepted; want %d listeners", i, p.Listeners, p.Accepted, want)
		}
		if want == 0 {
			continue
		}
		// Every listener gets the figures when it connects, and again as claims settle.
		if l := p.Listening; l.Connected != 6 || l.Failed != 0 || l.Figures <= 6 || l.Dropped != 0 {
			t.Fatalf("phase %d listeners %+v", i, l)
		}
	}
	cs := loadgen.CompareListeners(res.Phases)
	if len(cs) != 1 || cs[0].Listeners != 6 || cs[0].With <= 0 || cs[0].Without <= 0 {
		t.Fatalf("comparison %+v", cs)
	}
	if !strings.Contains(out.String(), "listeners: mode single: ") || !strings.Contains(out.String(), "6 event listeners connected") {
		t.Fatalf("the report has no comparison:\n%s", out.String())
	}
	t.Run("a bad count is refused", func(t *testing.T) {
		if _, err := loadgen.Run(t.Context(), loadgen.Config{URL: srv.url, Keys: srv.keys, Pseudonyms: srv.ps, Listeners: -1}); err == nil {
			t.Fatal("no error")
		}
	})
}
