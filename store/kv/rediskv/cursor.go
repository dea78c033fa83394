package rediskv

import (
	"sort"

	"github.com/regie-nl/regie/store/kv"
)

// cursor walks a bucket: Redis's keys, fetched a page at a time, merged with
// the transaction's own writes (which win, and may delete).
type cursor struct {
	b   *bucket
	cur string
	at  bool // on cur; false before the start or past the end

	fwd, rev window // the pages last fetched in each direction
	size     int    // keys the next page fetches
}

// nextSize is the size of the next page: it grows as the walk goes on.
func (c *cursor) nextSize() int {
	if c.size == 0 {
		c.size = firstPage
	} else {
		c.size = min(2*c.size, maxPage)
	}
	return c.size
}

// window is one page of Redis keys from a bound on, in walking order.
type window struct {
	ok      bool
	from    string // the bound; for a reverse window, inf means from the end
	incl    bool
	inf     bool
	keys    []pair
	hasMore bool // the page was full: Redis may have more beyond it
}

func (b *bucket) Cursor() kv.Cursor { return &cursor{b: b} }

func (c *cursor) land(p pair, ok bool) ([]byte, []byte) {
	if !ok {
		c.at = false
		return nil, nil
	}
	c.cur, c.at = p.k, true
	return []byte(p.k), []byte(p.v)
}

func (c *cursor) First() ([]byte, []byte) { return c.land(c.after("", true)) }
func (c *cursor) Seek(s []byte) ([]byte, []byte) {
	return c.land(c.after(string(s), true))
}
func (c *cursor) Last() ([]byte, []byte) { return c.land(c.before("", true, true)) }

func (c *cursor) Next() ([]byte, []byte) {
	if !c.at {
		return nil, nil
	}
	return c.land(c.after(c.cur, false))
}

func (c *cursor) Prev() ([]byte, []byte) {
	if !c.at {
		return nil, nil
	}
	return c.land(c.before(c.cur, false, false))
}

// after finds the first key at (incl) or after x.
func (c *cursor) after(x string, incl bool) (pair, bool) {
	for {
		r, rok := c.remoteAfter(x, incl)
		o, ook := c.overlayAfter(x, incl)
		switch {
		case !rok && !ook:
			return pair{}, false
		case ook && (!rok || o <= r.k):
			w := c.b.overlay[o]
			if w.deleted {
				x, incl = o, false
				continue
			}
			return pair{o, w.value}, true
		default:
			return r, true
		}
	}
}

// before finds the last key at (incl) or before x, or the last of all (inf).
func (c *cursor) before(x string, incl, inf bool) (pair, bool) {
	for {
		r, rok := c.remoteBefore(x, incl, inf)
		o, ook := c.overlayBefore(x, incl, inf)
		switch {
		case !rok && !ook:
			return pair{}, false
		case ook && (!rok || o >= r.k):
			w := c.b.overlay[o]
			if w.deleted {
				x, incl, inf = o, false, false
				continue
			}
			return pair{o, w.value}, true
		default:
			return r, true
		}
	}
}

func (c *cursor) overlayAfter(x string, incl bool) (string, bool) {
	keys := c.b.keys
	i := sort.SearchStrings(keys, x)
	if i < len(keys) && keys[i] == x && !incl {
		i++
	}
	if i < len(keys) {
		return keys[i], true
	}
	return "", false
}

func (c *cursor) overlayBefore(x string, incl, inf bool) (string, bool) {
	keys := c.b.keys
	i := len(keys) - 1
	if !inf {
		i = sort.SearchStrings(keys, x) // first ≥ x
		if i < len(keys) && keys[i] == x && incl {
			return x, true
		}
		i--
	}
	if i >= 0 {
		return keys[i], true
	}
	return "", false
}

func (c *cursor) remoteAfter(x string, incl bool) (pair, bool) {
	w := &c.fwd
	if w.ok && (x > w.from || (x == w.from && (w.incl || !incl))) {
		i := sort.Search(len(w.keys), func(i int) bool {
			return w.keys[i].k > x || (incl && w.keys[i].k == x)
		})
		if i < len(w.keys) {
			return w.keys[i], true
		}
		if !w.hasMore {
			return pair{}, false
		}
	}
	bound := "(" + x
	if incl {
		bound = "[" + x
	}
	size := c.nextSize()
	keys := c.b.page(bound, false, size)
	*w = window{ok: true, from: x, incl: incl, keys: keys, hasMore: len(keys) == size}
	if len(keys) == 0 {
		return pair{}, false
	}
	return keys[0], true
}

func (c *cursor) remoteBefore(x string, incl, inf bool) (pair, bool) {
	w := &c.rev
	if w.ok && (w.inf || (!inf && (x < w.from || (x == w.from && (w.incl || !incl))))) {
		// the window's keys descend; find the first at or below x
		i := 0
		if !inf {
			i = sort.Search(len(w.keys), func(i int) bool {
				return w.keys[i].k < x || (incl && w.keys[i].k == x)
			})
		}
		if i < len(w.keys) {
			return w.keys[i], true
		}
		if !w.hasMore {
			return pair{}, false
		}
	}
	bound := "+"
	switch {
	case inf:
	case incl:
		bound = "[" + x
	default:
		bound = "(" + x
	}
	size := c.nextSize()
	keys := c.b.page(bound, true, size)
	*w = window{ok: true, from: x, incl: incl, inf: inf, keys: keys, hasMore: len(keys) == size}
	if len(keys) == 0 {
		return pair{}, false
	}
	return keys[0], true
}
