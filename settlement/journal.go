package settlement

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"time"

	"github.com/regie-nl/regie"
)

// EntryType says what an entry records.
type EntryType string

const (
	EntryIssue         EntryType = "issue"          // a voucher is issued: its lines get their amounts
	EntryReserve       EntryType = "reserve"        // an accepted choice commits a voucher line on the budget
	EntryUnreserve     EntryType = "unreserve"      // an ended assignment releases what it had not used
	EntrySettle        EntryType = "settle"         // an accepted claim
	EntryHold          EntryType = "hold"           // a claim held under the hold policy
	EntryRelease       EntryType = "release"        // a held claim released by the funder
	EntryReverse       EntryType = "reverse"        // a claim undone (by its provider, or an upheld dispute)
	EntryRevision      EntryType = "revision"       // a budget revision
	EntryPolicy        EntryType = "policy"         // a change of budget policy (no postings)
	EntryProRataAdjust EntryType = "prorata_adjust" // the year-end adjustment of one provider
	EntryClose         EntryType = "close"          // the year-end close of the region (no postings)
)

// Entry is one append-only journal entry of a region. Entries are sealed in
// order with a SHA-256 hash chain: Hash covers PrevHash and every other field,
// so changing any byte of any entry breaks the chain from there on.
type Entry struct {
	Region      string      `json:"region"`
	Seq         uint64      `json:"seq"`
	At          time.Time   `json:"at"`
	Type        EntryType   `json:"type"`
	ProviderAGB string      `json:"provider_agb,omitempty"`
	ClaimID     string      `json:"claim_id,omitempty"`
	VoucherID   string      `json:"voucher_id,omitempty"`
	Product     string      `json:"product,omitempty"`
	Amount      regie.Cents `json:"amount"`
	Reason      string      `json:"reason,omitempty"`
	By          string      `json:"by,omitempty"`
	Policy      *Policy     `json:"policy,omitempty"`
	Postings    []Posting   `json:"postings"`
	PrevHash    string      `json:"prev_hash"`
	Hash        string      `json:"hash"`
}

// Posting changes the balance of one account by Amount.
type Posting struct {
	Account string      `json:"account"`
	Amount  regie.Cents `json:"amount"`
}

// VoucherAccount is the balance of a voucher line. Every balance a store
// keeps is the sum of the postings to its account in the region's journal
// (regie verify checks exactly that), and every account of a region's journal
// belongs to that region.
func VoucherAccount(voucherID, product string) string { return "voucher:" + voucherID + ":" + product }

// VoucherCommittedAccount is the part of a voucher line committed on the budget.
func VoucherCommittedAccount(voucherID, product string) string {
	return VoucherAccount(voucherID, product) + ":committed"
}

// RegionAccount is one figure of a region: "budget", "settled", "held",
// "committed" or "paid".
func RegionAccount(region, figure string) string { return "region:" + region + ":" + figure }

// ProviderAccount is what a provider claimed ("claimed") or is paid ("paid")
// in a region.
func ProviderAccount(region, agb, figure string) string {
	return "region:" + region + ":provider:" + agb + ":" + figure
}

// Seal sets the entry's sequence number and previous hash and computes its hash.
func (e *Entry) Seal(seq uint64, prevHash string) error {
	e.Seq, e.PrevHash, e.Hash = seq, prevHash, ""
	h, err := e.computeHash()
	if err != nil {
		return err
	}
	e.Hash = h
	return nil
}

// CheckSeal reports whether the entry's hash matches its content and prevHash.
func (e Entry) CheckSeal(prevHash string) error {
	if e.PrevHash != prevHash {
		return fmt.Errorf("entry %d of %s: chain broken: prev_hash does not match the previous entry", e.Seq, e.Region)
	}
	want := e.Hash
	e.Hash = ""
	got, err := e.computeHash()
	if err != nil {
		return err
	}
	if got != want {
		return fmt.Errorf("entry %d of %s: content does not match its hash", e.Seq, e.Region)
	}
	return nil
}

func (e *Entry) computeHash() (string, error) {
	b, err := json.Marshal(e)
	if err != nil {
		return "", fmt.Errorf("encode entry: %w", err)
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:]), nil
}
