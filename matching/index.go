package matching

import (
	"context"
	"math"
	"slices"
	"strings"
	"sync"

	"github.com/regie-nl/regie"
)

// cellDeg is the side of an index cell in degrees of latitude and of
// longitude: about 5.6 km north–south and 3.4 km east–west in the Netherlands,
// so that a 25 km search looks at some 150 cells and usually stops after a
// few of them.
const cellDeg = 0.05

// kmPerDegree is the length of one degree of latitude (and of longitude at the
// equator) on the sphere DistanceKm uses.
const kmPerDegree = earthRadiusKm * math.Pi / 180

type cellKey struct{ lat, lon int32 }

func keyOf(lat, lon float64) cellKey {
	return cellKey{int32(math.Floor(lat / cellDeg)), int32(math.Floor(lon / cellDeg))}
}

func (k cellKey) id() uint64 { return uint64(uint32(k.lat))<<32 | uint64(uint32(k.lon)) }

// entry is one location of one provider, filed under one of its products,
// with what the filters ask, so that most entries are judged without
// reading the provider.
type entry struct {
	p                *Provider
	lat, lon, cosLat float64
	tariff           regie.Cents
	langs            uint64 // bits of Index.langs
	expertise        uint32 // bits of Expertises
	identity         uint32 // bits of Identities
	waiting          int32
	loc              int16 // index in p.Locations
	settings         uint8 // bits of Settings
	open             bool  // OpenPlaces > 0
	multi            bool  // p has more than one indexed location
}

// grid is the entries of one product, by cell.
type grid map[uint64][]entry

// ProviderSource is where an index loads its providers from; every Store is one.
type ProviderSource interface {
	Providers(ctx context.Context) ([]*Provider, error)
}

// Index answers searches from memory: per product, a grid of cells listing
// the locations of the providers that offer it. A search visits the cells
// around the point nearest first and stops as soon as no cell left can hold
// a better result than those found.
//
// The index holds the providers it is given and never changes them; callers
// must not change a provider after putting it. It is safe for concurrent use.
type Index struct {
	mu    sync.RWMutex
	grids map[string]grid
	byAGB map[string]*Provider
	// langs gives each language code seen a bit; codes beyond the 63rd
	// share bit otherLang and are checked on the provider.
	langs map[string]uint8
}

const otherLang = 63

// Bits of the vocabularies, by code.
var (
	expertiseBit = vocabularyBits(Expertises)
	identityBit  = vocabularyBits(Identities)
	settingBit   = vocabularyBits(Settings)
)

func vocabularyBits(terms []Term) map[string]uint32 {
	m := make(map[string]uint32, len(terms))
	for i, t := range terms {
		m[t.Code] = 1 << i
	}
	return m
}

func tagBits(tags []string, bits map[string]uint32) uint32 {
	var m uint32
	for _, t := range tags {
		m |= bits[strings.ToLower(t)]
	}
	return m
}

// NewIndex loads every provider from src into a new index.
func NewIndex(ctx context.Context, src ProviderSource) (*Index, error) {
	ps, err := src.Providers(ctx)
	if err != nil {
		return nil, err
	}
	x := &Index{
		grids: make(map[string]grid),
		byAGB: make(map[string]*Provider, len(ps)),
		langs: make(map[string]uint8),
	}
	for _, p := range ps {
		if old := x.byAGB[p.AGB]; old != nil {
			x.remove(old)
		}
		x.add(p)
	}
	return x, nil
}

// Len returns the number of providers in the index.
func (x *Index) Len() int {
	x.mu.RLock()
	defer x.mu.RUnlock()
	return len(x.byAGB)
}

// Provider returns the indexed provider with the AGB code, or nil. The
// caller must not change it.
func (x *Index) Provider(agb string) *Provider {
	x.mu.RLock()
	defer x.mu.RUnlock()
	return x.byAGB[agb]
}

// Put adds or replaces a provider, unless the index holds a newer version of
// it (a higher Version), so that updates applied out of order keep the last.
func (x *Index) Put(p *Provider) {
	x.mu.Lock()
	defer x.mu.Unlock()
	if old := x.byAGB[p.AGB]; old != nil {
		if old.Version > p.Version {
			return
		}
		x.remove(old)
	}
	x.add(p)
}

// Remove takes a provider out of the index.
func (x *Index) Remove(agb string) {
	x.mu.Lock()
	defer x.mu.Unlock()
	if old := x.byAGB[agb]; old != nil {
		x.remove(old)
	}
}

// Listing returns the AGB codes of the providers that list region or have a
// qualification record there, in order.
func (x *Index) Listing(region string) []string {
	x.mu.RLock()
	defer x.mu.RUnlock()
	var out []string
	for agb, p := range x.byAGB {
		if slices.Contains(p.Regions, region) || slices.ContainsFunc(p.Qualifications, func(q Qualification) bool { return q.Region == region }) {
			out = append(out, agb)
		}
	}
	slices.Sort(out)
	return out
}

func indexable(l Location) bool {
	return l.Lat >= -90 && l.Lat <= 90 && l.Lon >= -180 && l.Lon <= 180 // false for NaN
}

func (x *Index) langBits(langs []string) uint64 {
	var m uint64
	for _, l := range langs {
		l = strings.ToLower(l)
		bit, ok := x.langs[l]
		if !ok {
			bit = uint8(min(len(x.langs), otherLang))
			if bit < otherLang {
				x.langs[l] = bit
			}
		}
		m |= 1 << bit
	}
	return m
}

func (x *Index) add(p *Provider) {
	x.byAGB[p.AGB] = p
	n := 0
	for _, l := range p.Locations {
		if indexable(l) {
			n++
		}
	}
	proto := entry{
		p:         p,
		langs:     x.langBits(p.Languages),
		expertise: tagBits(p.Expertise, expertiseBit),
		identity:  tagBits(p.Identity, identityBit),
		settings:  uint8(tagBits(p.Settings, settingBit)),
		waiting:   int32(min(p.WaitingWeeks, math.MaxInt32)),
		open:      p.OpenPlaces > 0,
		multi:     n > 1,
	}
	for i, l := range p.Locations {
		if !indexable(l) || i > math.MaxInt16 {
			continue
		}
		id := keyOf(l.Lat, l.Lon).id()
		for j, o := range p.Offers {
			if p.Offer(o.Product) != &p.Offers[j] {
				continue // offered twice: the first counts, as in Provider.Offer
			}
			g := x.grids[o.Product]
			if g == nil {
				g = make(grid)
				x.grids[o.Product] = g
			}
			e := proto
			e.lat, e.lon, e.cosLat, e.loc, e.tariff = l.Lat, l.Lon, math.Cos(l.Lat*rad), int16(i), o.Tariff
			g[id] = append(g[id], e)
		}
	}
}

func (x *Index) remove(p *Provider) {
	delete(x.byAGB, p.AGB)
	for _, l := range p.Locations {
		if !indexable(l) {
			continue
		}
		id := keyOf(l.Lat, l.Lon).id()
		for _, o := range p.Offers {
			g := x.grids[o.Product]
			if g == nil {
				continue
			}
			if es := slices.DeleteFunc(g[id], func(e entry) bool { return e.p == p }); len(es) == 0 {
				delete(g, id)
			} else {
				g[id] = es
			}
		}
	}
}

// candidate is a cell to visit, with a lower bound of the distance from the
// search point to anything in it.
type candidate struct {
	bound float64
	es    []entry
}

// Search returns one page of the providers that match q (as Service.Search
// describes) for a voucher of region on day on, in ranking order, and whether
// more follow. q must be valid, with its defaults applied.
func (x *Index) Search(q Query, region string, on regie.Date) (page []Result, more bool) {
	x.mu.RLock()
	defer x.mu.RUnlock()
	g := x.grids[q.Product]
	if len(g) == 0 {
		return nil, false
	}

	// What the filters ask, as bits.
	var langMask uint64
	langOther := false
	if q.Language != "" {
		bit, ok := x.langs[q.Language]
		switch {
		case ok:
			langMask = 1 << bit
		case len(x.langs) < otherLang:
			return nil, false // nobody speaks it
		default:
			langMask, langOther = 1<<otherLang, true
		}
	}
	expMask, idMask, setMask := expertiseBit[q.Expertise], identityBit[q.Identity], uint8(settingBit[q.Setting])
	maxWaiting := int32(math.MaxInt32)
	if q.MaxWaitingWeeks != nil {
		maxWaiting = int32(min(*q.MaxWaitingWeeks, math.MaxInt32))
	}

	// The cells that may hold a location within the radius.
	latLo, latHi := q.Lat-q.RadiusKm/kmPerDegree, q.Lat+q.RadiusKm/kmPerDegree
	allLon := latLo <= -89.9 || latHi >= 89.9
	var lonLo, lonHi float64
	if !allLon {
		// The widest span of longitude is at the most poleward latitude.
		dLon := q.RadiusKm / kmPerDegree / math.Cos(math.Max(math.Abs(latLo), math.Abs(latHi))*rad)
		lonLo, lonHi = q.Lon-dLon, q.Lon+dLon
		allLon = lonLo < -180 || lonHi > 180
	}
	lo, hi := keyOf(max(latLo, -90), max(lonLo, -180)), keyOf(min(latHi, 90), min(lonHi, 180))
	var cands []candidate
	visit := func(k cellKey, es []entry) {
		if b := cellBound(q.Lat, q.Lon, k); b <= q.RadiusKm {
			cands = append(cands, candidate{b, es})
		}
	}
	if n := int64(hi.lat-lo.lat+1) * int64(hi.lon-lo.lon+1); allLon || n > int64(len(g)) {
		for id, es := range g {
			k := cellKey{int32(uint32(id >> 32)), int32(uint32(id))}
			if k.lat >= lo.lat && k.lat <= hi.lat && (allLon || (k.lon >= lo.lon && k.lon <= hi.lon)) {
				visit(k, es)
			}
		}
	} else {
		cands = make([]candidate, 0, n)
		for la := lo.lat; la <= hi.lat; la++ {
			for ln := lo.lon; ln <= hi.lon; ln++ {
				k := cellKey{la, ln}
				if es := g[k.id()]; len(es) > 0 {
					visit(k, es)
				}
			}
		}
	}
	slices.SortFunc(cands, func(a, b candidate) int { return cmpFloat(a.bound, b.bound) })

	top := topK{k: q.Offset + q.Limit + 1}
	cosLat := math.Cos(q.Lat * rad)
	for _, c := range cands {
		if top.full() && c.bound > top.worst().DistanceKm {
			break // no location in this cell or beyond can rank higher
		}
		for i := range c.es {
			e := &c.es[i]
			if e.langs&langMask != langMask || e.expertise&expMask != expMask || e.identity&idMask != idMask ||
				e.settings&setMask != setMask || (q.Available && !e.open) || e.waiting > maxWaiting {
				continue
			}
			d := haversine(q.Lat, q.Lon, cosLat, e.lat, e.lon, e.cosLat)
			if d > q.RadiusKm || (top.full() && d > top.worst().DistanceKm) {
				continue
			}
			if !e.p.QualifiedIn(region, on) || (langOther && !containsFold(e.p.Languages, q.Language)) {
				continue
			}
			top.offer(Result{Provider: e.p, Location: e.p.Locations[e.loc], DistanceKm: d, Tariff: e.tariff}, int(e.loc), e.multi)
		}
	}
	return top.page(q.Offset, q.Limit)
}

// cellBound is a lower bound of the distance in km from (lat, lon) to any
// point of cell k: the distance to the nearest point of its rectangle, less a
// margin for the curvature that the rectangle's edges ignore.
func cellBound(lat, lon float64, k cellKey) float64 {
	la0, lo0 := float64(k.lat)*cellDeg, float64(k.lon)*cellDeg
	cla, clo := min(max(lat, la0), la0+cellDeg), min(max(lon, lo0), lo0+cellDeg)
	if cla == lat && clo == lon {
		return 0
	}
	return max(0, DistanceKm(lat, lon, cla, clo)*(1-1e-3)-0.01)
}

func cmpFloat(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// rank orders results: nearest first, then those with an open place, then
// fewest waiting weeks, then by AGB code. It is negative when a ranks before b.
func rank(a, b *Result) int {
	if c := cmpFloat(a.DistanceKm, b.DistanceKm); c != 0 {
		return c
	}
	if ao, bo := a.Provider.OpenPlaces > 0, b.Provider.OpenPlaces > 0; ao != bo {
		if ao {
			return -1
		}
		return 1
	}
	if a.Provider.WaitingWeeks != b.Provider.WaitingWeeks {
		return a.Provider.WaitingWeeks - b.Provider.WaitingWeeks
	}
	return strings.Compare(a.Provider.AGB, b.Provider.AGB)
}

// topK keeps the k best results seen, one per provider, in a max-heap whose
// root is the worst of them.
type topK struct {
	k    int
	heap []Result
	locs []int // the location index of each heap element, for ties
}

func (t *topK) full() bool     { return len(t.heap) >= t.k }
func (t *topK) worst() *Result { return &t.heap[0] }

// worse reports whether heap element i ranks after element j.
func (t *topK) worse(i, j int) bool {
	c := rank(&t.heap[i], &t.heap[j])
	return c > 0 || (c == 0 && t.locs[i] > t.locs[j])
}

func (t *topK) swap(i, j int) {
	t.heap[i], t.heap[j] = t.heap[j], t.heap[i]
	t.locs[i], t.locs[j] = t.locs[j], t.locs[i]
}

func (t *topK) up(i int) {
	for i > 0 {
		parent := (i - 1) / 2
		if !t.worse(i, parent) {
			return
		}
		t.swap(i, parent)
		i = parent
	}
}

func (t *topK) down(i int) {
	n := len(t.heap)
	for {
		l := 2*i + 1
		if l >= n {
			return
		}
		w := l
		if r := l + 1; r < n && t.worse(r, l) {
			w = r
		}
		if !t.worse(w, i) {
			return
		}
		t.swap(i, w)
		i = w
	}
}

// offer considers a result for the location loc of its provider. multi says
// whether the provider has other locations, which may be in the heap already.
func (t *topK) offer(r Result, loc int, multi bool) {
	if multi {
		for i := range t.heap {
			if t.heap[i].Provider != r.Provider {
				continue
			}
			// Keep the provider's nearest location (the first on a tie).
			if c := cmpFloat(r.DistanceKm, t.heap[i].DistanceKm); c < 0 || (c == 0 && loc < t.locs[i]) {
				t.heap[i], t.locs[i] = r, loc
				t.down(i) // it got better, so it sinks away from the root
			}
			return
		}
	}
	if !t.full() {
		t.heap = append(t.heap, r)
		t.locs = append(t.locs, loc)
		t.up(len(t.heap) - 1)
		return
	}
	c := rank(&r, &t.heap[0])
	if c > 0 || (c == 0 && loc >= t.locs[0]) {
		return
	}
	t.heap[0], t.locs[0] = r, loc
	t.down(0)
}

// page sorts what was kept and returns results offset..offset+limit, and
// whether there are more.
func (t *topK) page(offset, limit int) ([]Result, bool) {
	slices.SortFunc(t.heap, func(a, b Result) int { return rank(&a, &b) })
	more := len(t.heap) > offset+limit
	if offset >= len(t.heap) {
		return nil, more
	}
	out := t.heap[offset:min(len(t.heap), offset+limit)]
	for i := range out {
		out[i].DistanceKm = math.Round(out[i].DistanceKm*10) / 10 // ranked exactly, shown to 100 m
	}
	return out, more
}
