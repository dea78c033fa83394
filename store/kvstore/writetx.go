package kvstore

import (
	"github.com/regie-nl/regie"
	"github.com/regie-nl/regie/matching"
	"github.com/regie-nl/regie/settlement"
	"github.com/regie-nl/regie/store/kv"
	"github.com/regie-nl/regie/voucher"
)

// writeTx is one transaction's view of the records settlements read and
// change: each is decoded once per transaction and, when changed, encoded
// and written once, at flush. A batch of claims on the same region, provider
// and vouchers thus pays for one decode and one encode of each, not one per
// claim. It implements settlement.State. Nothing outlives the transaction.
type writeTx struct {
	tx        kv.Tx
	vouchers  map[string]*voucher.Voucher
	regions   map[string]*settlement.RegionState
	providers map[string]*matching.Provider
	tariffs   map[string]*voucher.Tariff
	choices   map[string][]*matching.Choice
	totals    map[[2]string]*settlement.ProviderTotals
	dirty     map[any]bool // *voucher.Voucher, *settlement.RegionState or [2]string (totals)
	counters  *counters    // the monitoring tallies of the entries appended in tx
}

func newWriteTx(tx kv.Tx) *writeTx {
	return &writeTx{
		tx: tx, vouchers: map[string]*voucher.Voucher{}, regions: map[string]*settlement.RegionState{},
		providers: map[string]*matching.Provider{}, tariffs: map[string]*voucher.Tariff{},
		choices: map[string][]*matching.Choice{}, totals: map[[2]string]*settlement.ProviderTotals{},
		dirty: map[any]bool{}, counters: newCounters(tx),
	}
}

// cached returns m[k], loading it with load on the first use (nil included).
func cached[K comparable, V any](m map[K]*V, k K, load func() (*V, error)) (*V, error) {
	if v, ok := m[k]; ok {
		return v, nil
	}
	v, err := load()
	if err != nil {
		return nil, err
	}
	m[k] = v
	return v, nil
}

func (w *writeTx) Voucher(id string) (*voucher.Voucher, error) {
	return cached(w.vouchers, id, func() (*voucher.Voucher, error) { return txState{w.tx}.Voucher(id) })
}

func (w *writeTx) Region(id string) (*settlement.RegionState, error) {
	return cached(w.regions, id, func() (*settlement.RegionState, error) { return readRegion(w.tx, id) })
}

func (w *writeTx) Provider(agb string) (*matching.Provider, error) {
	return cached(w.providers, agb, func() (*matching.Provider, error) { return readProvider(w.tx, agb) })
}

func (w *writeTx) Tariff(product string) (voucher.Tariff, bool, error) {
	t, err := cached(w.tariffs, product, func() (*voucher.Tariff, error) {
		t, ok, err := txState{w.tx}.Tariff(product)
		if err != nil || !ok {
			return nil, err
		}
		return &t, nil
	})
	if err != nil || t == nil {
		return voucher.Tariff{}, false, err
	}
	return *t, true, nil
}

func (w *writeTx) Choices(voucherID string) ([]*matching.Choice, error) {
	if cs, ok := w.choices[voucherID]; ok {
		return cs, nil
	}
	cs, err := readChoices(w.tx, bucketChoicesByVoucher, voucherID)
	if err != nil {
		return nil, err
	}
	w.choices[voucherID] = cs
	return cs, nil
}

func (w *writeTx) Overlaps(voucherID, product string, from, to regie.Date) (bool, error) {
	return txState{w.tx}.Overlaps(voucherID, product, from, to)
}

// Totals returns a provider's totals in a region, zero when it has none yet.
func (w *writeTx) Totals(region, agb string) (*settlement.ProviderTotals, error) {
	return cached(w.totals, [2]string{region, agb}, func() (*settlement.ProviderTotals, error) {
		pt := &settlement.ProviderTotals{}
		_, err := getJSON(w.tx.Bucket(bucketRegionProviders), key(region, agb), pt)
		return pt, err
	})
}

// mustRegion is Region, with NotFound "region_not_found" for a missing one.
func (w *writeTx) mustRegion(id string) (*settlement.RegionState, error) {
	r, err := w.Region(id)
	if err == nil && r == nil {
		err = errRegionNotFound(id)
	}
	return r, err
}

// appendTo seals e as the next entry of r's journal and counts its tally; r
// is written at flush.
func (w *writeTx) appendTo(r *settlement.RegionState, e *settlement.Entry) error {
	w.dirty[r] = true
	return appendEntryTo(w.tx, w.counters, r, e)
}

// changedTotals marks a provider's totals in a region to be written at flush.
func (w *writeTx) changedTotals(region, agb string) { w.dirty[[2]string{region, agb}] = true }

// changed marks records to be written at flush.
func (w *writeTx) changed(v *voucher.Voucher, r *settlement.RegionState, region, agb string) {
	w.dirty[v], w.dirty[r], w.dirty[[2]string{region, agb}] = true, true, true
}

// flush writes every changed record once.
func (w *writeTx) flush() error {
	for _, v := range w.vouchers {
		if v != nil && w.dirty[v] {
			if err := putJSON(w.tx.Bucket(bucketVouchers), []byte(v.ID), v); err != nil {
				return err
			}
		}
	}
	for _, r := range w.regions {
		if r != nil && w.dirty[r] {
			if err := putRegion(w.tx, r); err != nil {
				return err
			}
		}
	}
	for k, pt := range w.totals {
		if w.dirty[k] {
			if err := putJSON(w.tx.Bucket(bucketRegionProviders), key(k[0], k[1]), pt); err != nil {
				return err
			}
		}
	}
	clear(w.dirty)
	return w.counters.flush()
}
