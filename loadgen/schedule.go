package loadgen

import "github.com/regie-nl/regie"

// Days hands out the days of care of one voucher in order, each once: from
// the voucher's first day through the last day that may be claimed, which is
// yesterday or the voucher's last day, whichever comes first (care is claimed
// after delivery). Claims of consecutive days never overlap.
//
// Peek shows the next days without handing them out and Take hands them out,
// so that a claim whose answer was lost is sent again for the same day.
type Days struct {
	next, last regie.Date
}

// NewDays returns the days from validFrom through min(validTo, today − 1).
func NewDays(validFrom, validTo, today regie.Date) *Days {
	return &Days{next: validFrom, last: min(validTo, today.AddDays(-1))}
}

// Left returns how many days are still to be handed out.
func (d *Days) Left() int {
	if d.next > d.last {
		return 0
	}
	return d.next.DaysThrough(d.last)
}

// Peek returns the first of the next days and how many there are, at most n.
func (d *Days) Peek(n int) (first regie.Date, count int) {
	return d.next, max(0, min(n, d.Left()))
}

// Take hands out the next count days (at most Left).
func (d *Days) Take(count int) {
	d.next = d.next.AddDays(max(0, min(count, d.Left())))
}

// Partition deals n items (vouchers, by index) to workers round-robin, so
// that every item has exactly one owner and the owners' shares differ by at
// most one. With more workers than items, the extra workers get none.
func Partition(n, workers int) [][]int {
	out := make([][]int, workers)
	for i := range n {
		out[i%workers] = append(out[i%workers], i)
	}
	return out
}
