package kvstore

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/regie-nl/regie"
	"github.com/regie-nl/regie/matching"
	"github.com/regie-nl/regie/store/kv"
)

// Buckets of provider qualification and the waiting list. Open does not
// create them: a write creates one when it is missing, and a read takes a
// missing one as empty.
var (
	bucketEvidence          = []byte("evidence")            // agb 0 id → evidence JSON
	bucketEvidenceByRegion  = []byte("evidence_by_region")  // region 0 agb 0 id → ""
	bucketCriteria          = []byte("criteria")            // region → criteria JSON
	bucketWaiting           = []byte("waiting")             // id → waiting entry JSON
	bucketWaitingByVoucher  = []byte("waiting_by_voucher")  // voucher 0 id → ""
	bucketWaitingByProvider = []byte("waiting_by_provider") // agb 0 id → ""
)

func writable(tx kv.Tx, name []byte) (kv.Bucket, error) {
	return tx.CreateBucketIfNotExists(name)
}

func errProviderNotFound(agb string) error {
	return regie.Errorf(regie.NotFound, "provider_not_found", "no provider with AGB code %s", agb)
}

func decodeProvider(k, v []byte) (*matching.Provider, error) {
	var p matching.Provider
	if err := json.Unmarshal(v, &p); err != nil {
		return nil, fmt.Errorf("store: decode provider %q: %w", k, err)
	}
	return &p, nil
}

// replaceProvider writes p with the stored version plus one.
func replaceProvider(tx kv.Tx, p *matching.Provider) error {
	old, err := readProvider(tx, p.AGB)
	if err != nil {
		return err
	}
	p.Version = 1
	if old != nil {
		p.Version = old.Version + 1
	}
	return putJSON(tx.Bucket(bucketProviders), []byte(p.AGB), p)
}

// PutProviders implements matching.Store.
func (db *DB) PutProviders(ctx context.Context, ps []*matching.Provider) error {
	return db.kv.Update(func(tx kv.Tx) error {
		for _, p := range ps {
			if err := replaceProvider(tx, p); err != nil {
				return err
			}
		}
		return nil
	})
}

// CreateProvider implements matching.Store.
func (db *DB) CreateProvider(ctx context.Context, p *matching.Provider) error {
	return db.kv.Update(func(tx kv.Tx) error {
		if tx.Bucket(bucketProviders).Get([]byte(p.AGB)) != nil {
			return regie.Errorf(regie.Conflict, "provider_exists", "a provider with AGB code %s is registered already", p.AGB)
		}
		p.Version = 1
		return putJSON(tx.Bucket(bucketProviders), []byte(p.AGB), p)
	})
}

// UpdateProvider implements matching.Store.
func (db *DB) UpdateProvider(ctx context.Context, agb string, at time.Time, fn func(d *matching.Dossier) error) (*matching.Provider, error) {
	var out *matching.Provider
	err := db.kv.Update(func(tx kv.Tx) error {
		p, err := readProvider(tx, agb)
		if err != nil {
			return err
		}
		if p == nil {
			return errProviderNotFound(agb)
		}
		version, openBefore := p.Version, p.OpenPlaces
		evidence, err := readEvidence(tx, agb)
		if err != nil {
			return err
		}
		d := &matching.Dossier{
			Provider: p,
			Evidence: evidence,
			Criteria: func(region string) (*matching.Criteria, error) { return readCriteria(tx, region) },
		}
		if err := fn(d); err != nil {
			return err
		}
		p = d.Provider
		if p.AGB != agb {
			return fmt.Errorf("store: UpdateProvider: the update changed AGB code %s to %s", agb, p.AGB)
		}
		p.Version = version + 1
		if err := putJSON(tx.Bucket(bucketProviders), []byte(agb), p); err != nil {
			return err
		}
		if err := writeEvidence(tx, agb, d.Evidence); err != nil {
			return err
		}
		if openBefore == 0 && p.OpenPlaces > 0 {
			if err := notifyWaiting(tx, agb, at, p.OpenPlaces); err != nil {
				return err
			}
		}
		out = p
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

func writeEvidence(tx kv.Tx, agb string, evidence []*matching.Evidence) error {
	if len(evidence) == 0 {
		return nil
	}
	b, err := writable(tx, bucketEvidence)
	if err != nil {
		return err
	}
	byRegion, err := writable(tx, bucketEvidenceByRegion)
	if err != nil {
		return err
	}
	for _, e := range evidence {
		if e.ProviderAGB != agb || e.ID == "" {
			return fmt.Errorf("store: evidence %q of provider %q filed under %s", e.ID, e.ProviderAGB, agb)
		}
		if err := putJSON(b, key(agb, e.ID), e); err != nil {
			return err
		}
		if err := byRegion.Put(key(e.Region, agb, e.ID), nil); err != nil {
			return err
		}
	}
	return nil
}

// readEvidence reads the evidence of one provider, oldest first.
func readEvidence(tx kv.Tx, agb string) ([]*matching.Evidence, error) {
	b := tx.Bucket(bucketEvidence)
	if b == nil {
		return nil, nil
	}
	var out []*matching.Evidence
	prefix := key(agb, "")
	c := b.Cursor()
	for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
		var e matching.Evidence
		if err := json.Unmarshal(v, &e); err != nil {
			return nil, fmt.Errorf("store: decode evidence %q: %w", k, err)
		}
		out = append(out, &e)
	}
	sortEvidence(out)
	return out, nil
}

func sortEvidence(es []*matching.Evidence) {
	slices.SortFunc(es, func(a, b *matching.Evidence) int {
		if c := a.SubmittedAt.Compare(b.SubmittedAt); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
}

// PutEvidence implements matching.Store.
func (db *DB) PutEvidence(ctx context.Context, es []*matching.Evidence) error {
	return db.kv.Update(func(tx kv.Tx) error {
		for _, e := range es {
			if err := writeEvidence(tx, e.ProviderAGB, []*matching.Evidence{e}); err != nil {
				return err
			}
		}
		return nil
	})
}

// EvidenceOf implements matching.Store.
func (db *DB) EvidenceOf(ctx context.Context, agb string) ([]*matching.Evidence, error) {
	var out []*matching.Evidence
	err := db.kv.View(func(tx kv.Tx) error {
		var err error
		out, err = readEvidence(tx, agb)
		return err
	})
	return out, err
}

// EvidenceInRegion implements matching.Store.
func (db *DB) EvidenceInRegion(ctx context.Context, region string) ([]*matching.Evidence, error) {
	var out []*matching.Evidence
	err := db.kv.View(func(tx kv.Tx) error {
		idx, b := tx.Bucket(bucketEvidenceByRegion), tx.Bucket(bucketEvidence)
		if idx == nil || b == nil {
			return nil
		}
		prefix := key(region, "")
		c := idx.Cursor()
		for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
			var e matching.Evidence
			found, err := getJSON(b, k[len(prefix):], &e)
			if err != nil {
				return err
			}
			if found {
				out = append(out, &e)
			}
		}
		return nil
	})
	sortEvidence(out)
	return out, err
}

func readCriteria(tx kv.Tx, region string) (*matching.Criteria, error) {
	b := tx.Bucket(bucketCriteria)
	if b == nil {
		return nil, nil
	}
	var c matching.Criteria
	found, err := getJSON(b, []byte(region), &c)
	if err != nil || !found {
		return nil, err
	}
	return &c, nil
}

// PutCriteria implements matching.Store.
func (db *DB) PutCriteria(ctx context.Context, c *matching.Criteria) error {
	return db.kv.Update(func(tx kv.Tx) error {
		b, err := writable(tx, bucketCriteria)
		if err != nil {
			return err
		}
		return putJSON(b, []byte(c.Region), c)
	})
}

// CriteriaOf implements matching.Store.
func (db *DB) CriteriaOf(ctx context.Context, region string) (*matching.Criteria, error) {
	var c *matching.Criteria
	err := db.kv.View(func(tx kv.Tx) error {
		var err error
		c, err = readCriteria(tx, region)
		return err
	})
	return c, err
}

// notifyWaiting marks every open entry on the provider's list notified.
func notifyWaiting(tx kv.Tx, agb string, at time.Time, openPlaces int) error {
	ws, err := readWaiting(tx, bucketWaitingByProvider, agb)
	if err != nil || len(ws) == 0 {
		return err
	}
	b := tx.Bucket(bucketWaiting)
	for _, w := range ws {
		if !w.Open() {
			continue
		}
		w.Status, w.NotifiedAt, w.OpenPlaces = matching.WaitingNotified, at, openPlaces
		if err := putJSON(b, []byte(w.ID), w); err != nil {
			return err
		}
	}
	return nil
}

// readWaiting reads the entries listed in an index bucket under owner,
// oldest first.
func readWaiting(tx kv.Tx, index []byte, owner string) ([]*matching.Waiting, error) {
	idx, b := tx.Bucket(index), tx.Bucket(bucketWaiting)
	if idx == nil || b == nil {
		return nil, nil
	}
	var out []*matching.Waiting
	prefix := key(owner, "")
	c := idx.Cursor()
	for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
		var w matching.Waiting
		found, err := getJSON(b, k[len(prefix):], &w)
		if err != nil {
			return nil, err
		}
		if found {
			out = append(out, &w)
		}
	}
	slices.SortFunc(out, func(a, b *matching.Waiting) int {
		return cmp.Or(a.CreatedAt.Compare(b.CreatedAt), strings.Compare(a.ID, b.ID))
	})
	return out, nil
}

var errWaitingNotFound = regie.Errorf(regie.NotFound, "waiting_not_found", "no such waiting-list entry")

// CreateWaiting implements matching.Store.
func (db *DB) CreateWaiting(ctx context.Context, w *matching.Waiting) error {
	return db.kv.Update(func(tx kv.Tx) error {
		b, err := writable(tx, bucketWaiting)
		if err != nil {
			return err
		}
		byVoucher, err := writable(tx, bucketWaitingByVoucher)
		if err != nil {
			return err
		}
		byProvider, err := writable(tx, bucketWaitingByProvider)
		if err != nil {
			return err
		}
		if b.Get([]byte(w.ID)) != nil {
			return regie.Errorf(regie.Conflict, "waiting_exists", "waiting-list entry %s exists", w.ID)
		}
		existing, err := readWaiting(tx, bucketWaitingByVoucher, w.VoucherID)
		if err != nil {
			return err
		}
		for _, e := range existing {
			if e.Open() && e.Product == w.Product && e.ProviderAGB == w.ProviderAGB {
				return regie.Errorf(regie.Conflict, "waiting_active", "this voucher waits for provider %s for %s already", w.ProviderAGB, w.Product)
			}
		}
		if err := putJSON(b, []byte(w.ID), w); err != nil {
			return err
		}
		if err := byVoucher.Put(key(w.VoucherID, w.ID), nil); err != nil {
			return err
		}
		return byProvider.Put(key(w.ProviderAGB, w.ID), nil)
	})
}

// WaitingEntry implements matching.Store.
func (db *DB) WaitingEntry(ctx context.Context, id string) (*matching.Waiting, error) {
	var w matching.Waiting
	err := db.kv.View(func(tx kv.Tx) error {
		b := tx.Bucket(bucketWaiting)
		if b == nil {
			return errWaitingNotFound
		}
		found, err := getJSON(b, []byte(id), &w)
		if err == nil && !found {
			return errWaitingNotFound
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	return &w, nil
}

// WaitingByVoucher implements matching.Store.
func (db *DB) WaitingByVoucher(ctx context.Context, voucherID string) ([]*matching.Waiting, error) {
	return db.viewWaiting(bucketWaitingByVoucher, voucherID)
}

// WaitingByProvider implements matching.Store.
func (db *DB) WaitingByProvider(ctx context.Context, agb string) ([]*matching.Waiting, error) {
	return db.viewWaiting(bucketWaitingByProvider, agb)
}

func (db *DB) viewWaiting(index []byte, owner string) ([]*matching.Waiting, error) {
	var out []*matching.Waiting
	err := db.kv.View(func(tx kv.Tx) error {
		var err error
		out, err = readWaiting(tx, index, owner)
		return err
	})
	return out, err
}

// CloseWaiting implements matching.Store.
func (db *DB) CloseWaiting(ctx context.Context, id string, to matching.WaitingStatus, at time.Time) (*matching.Waiting, error) {
	if to != matching.WaitingWithdrawn && to != matching.WaitingChosen {
		return nil, fmt.Errorf("store: CloseWaiting to %q", to)
	}
	var w matching.Waiting
	err := db.kv.Update(func(tx kv.Tx) error {
		b, err := writable(tx, bucketWaiting)
		if err != nil {
			return err
		}
		found, err := getJSON(b, []byte(id), &w)
		if err != nil {
			return err
		}
		if !found {
			return errWaitingNotFound
		}
		if !w.Open() {
			return regie.Errorf(regie.Conflict, "waiting_closed", "this entry is %s already", w.Status)
		}
		w.Status, w.ClosedAt = to, at
		return putJSON(b, []byte(id), &w)
	})
	if err != nil {
		return nil, err
	}
	return &w, nil
}
