package settlement

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"time"

	"github.com/regie-nl/regie"
)

// Entry is one append-only journal entry of a region. Entries are sealed in
// order with a SHA-256 hash chain: Hash covers PrevHash and every other field,
// so changing any byte of any entry breaks the chain from there on.
type Entry struct {
	Region      string      `json:"region"`
	Seq         uint64      `json:"seq"`
	At          time.Time   `json:"at"`
	Type        string      `json:"type"` // "settle"
	ProviderAGB string      `json:"provider_agb"`
	ClaimID     string      `json:"claim_id"`
	VoucherID   string      `json:"voucher_id"`
	Product     string      `json:"product"`
	Amount      regie.Cents `json:"amount"`
	Postings    []Posting   `json:"postings"`
	PrevHash    string      `json:"prev_hash"`
	Hash        string      `json:"hash"`
}

// Posting changes the balance of one account by Amount.
type Posting struct {
	Account string      `json:"account"`
	Amount  regie.Cents `json:"amount"`
}

// Account names. Every balance the ledger keeps is the sum of its postings.
func VoucherAccount(voucherID, product string) string { return "voucher:" + voucherID + ":" + product }
func RegionAccount(region string) string              { return "region:" + region + ":settled" }
func ProviderAccount(agb string) string               { return "provider:" + agb + ":payable" }

// SettleEntry is the journal entry of an accepted claim: the voucher line goes
// down by the amount, the region's settled total and the provider's payable
// account go up by it.
func SettleEntry(d Decision, at time.Time) Entry {
	return Entry{
		Region: d.Region, At: at.UTC(), Type: "settle",
		ProviderAGB: d.ProviderAGB, ClaimID: d.ClaimID, VoucherID: d.VoucherID, Product: d.Product,
		Amount: d.Amount,
		Postings: []Posting{
			{Account: VoucherAccount(d.VoucherID, d.Product), Amount: -d.Amount},
			{Account: RegionAccount(d.Region), Amount: d.Amount},
			{Account: ProviderAccount(d.ProviderAGB), Amount: d.Amount},
		},
	}
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
