package bolt_test

import (
	"sync"
	"testing"

	"github.com/regie-nl/regie"
	"github.com/regie-nl/regie/matching"
	"github.com/regie-nl/regie/settlement"
	"github.com/regie-nl/regie/store/storetest"
	"github.com/regie-nl/regie/voucher"
)

// BenchmarkDB_SettleBatch settles claims through the bulk path, 1,000 lines
// per SettleBatch call (one transaction and one fsync per 1,000 lines).
func BenchmarkDB_SettleBatch(b *testing.B) {
	db := openTemp(b)
	b.Cleanup(func() { db.Close() })
	storetest.BenchSettleBatch(b, db)
}

// memLedger is the reference: the same rules (settlement.Decide) and the
// same booking (settlement.BookClaim) on maps behind one mutex, with nothing
// written anywhere. It is the ceiling for what a durable store can reach.
type memLedger struct {
	mu       sync.Mutex
	vouchers map[string]*voucher.Voucher
	choices  map[string][]*matching.Choice
	provider *matching.Provider
	tariffs  map[string]voucher.Tariff
	region   *settlement.RegionState
	totals   settlement.ProviderTotals
	periods  map[string][][2]regie.Date
	claims   map[string]settlement.Decision
	journal  []settlement.Entry
}

func (m *memLedger) Voucher(id string) (*voucher.Voucher, error)   { return m.vouchers[id], nil }
func (m *memLedger) Choices(id string) ([]*matching.Choice, error) { return m.choices[id], nil }
func (m *memLedger) Provider(agb string) (*matching.Provider, error) {
	if agb != m.provider.AGB {
		return nil, nil
	}
	return m.provider, nil
}
func (m *memLedger) Tariff(p string) (voucher.Tariff, bool, error) {
	t, ok := m.tariffs[p]
	return t, ok, nil
}
func (m *memLedger) Region(id string) (*settlement.RegionState, error) { return m.region, nil }
func (m *memLedger) Overlaps(v, p string, from, to regie.Date) (bool, error) {
	for _, pr := range m.periods[v+"/"+p] {
		if pr[0] <= to && from <= pr[1] {
			return true, nil
		}
	}
	return false, nil
}

func (m *memLedger) settle(c settlement.Claim, now regie.Date) settlement.Decision {
	m.mu.Lock()
	defer m.mu.Unlock()
	k := c.ProviderAGB + "/" + c.ClaimID
	if d, ok := m.claims[k]; ok {
		return d
	}
	d, v, r, _ := settlement.Decide(m, c, now)
	if d.Status != settlement.Rejected {
		e := settlement.BookClaim(&d, v, r, &m.totals, f0.Now)
		if err := e.Seal(uint64(len(m.journal)+1), r.JournalHead); err != nil {
			panic(err)
		}
		r.JournalSeq, r.JournalHead = e.Seq, e.Hash
		m.journal = append(m.journal, e)
		pk := c.VoucherID + "/" + c.Product
		m.periods[pk] = append(m.periods[pk], [2]regie.Date{c.From, c.To})
	}
	m.claims[k] = d
	return d
}

var f0 = storetest.NewFixture("bench")

// BenchmarkReference_Settle runs the same claims as BenchmarkDB_Settle
// against memLedger, serial and parallel; the ratio of the two is how close
// the durable store gets to the rules' own cost.
func BenchmarkReference_Settle(b *testing.B) {
	for _, mode := range []string{"serial", "parallel"} {
		b.Run(mode, func(b *testing.B) {
			f := f0
			m := &memLedger{
				vouchers: map[string]*voucher.Voucher{}, choices: map[string][]*matching.Choice{},
				provider: f.Provider, tariffs: map[string]voucher.Tariff{},
				region:  &settlement.RegionState{Region: f.Region},
				periods: map[string][][2]regie.Date{}, claims: map[string]settlement.Decision{},
			}
			for _, t := range f.Tariffs {
				m.tariffs[t.Product] = t
			}
			claim := storetest.BenchClaims(b.N, f, func(v *voucher.Voucher, ch *matching.Choice) {
				ch.Status = matching.Accepted
				m.vouchers[v.ID] = v
				m.choices[v.ID] = []*matching.Choice{ch}
			})
			today := regie.DateOf(f.Now)
			settle := func(i int) {
				if d := m.settle(claim(i), today); d.Status != settlement.Accepted {
					b.Errorf("claim %d: %s %s", i, d.Status, d.Reason)
				}
			}
			storetest.RunSettles(b, mode, settle)
		})
	}
}
