// Package rediskv is kv.DB over Redis or Redis Cluster, with optimistic
// transactions: a transaction reads straight from Redis, remembers what it
// read and buffers what it writes, and commits with one Lua script
// (commit.lua) that checks every read is still true and then applies every
// write atomically. When another process changed something the transaction
// read, nothing is written and the transaction's function runs again.
// Writers of one process take turns (as in bbolt), so they never conflict
// with each other; only writers in different processes can.
//
// Layout. Every key of one database shares one hash tag, {name}, so that a
// transaction lives in one cluster slot:
//
//	{name}:b        HASH  bucket path → "1" for every bucket that exists
//	{name}:s        HASH  bucket path → sequence (NextSequence)
//	{name}:z:PATH   ZSET  the bucket's keys, score 0, in byte order (ZRANGE BYLEX)
//	{name}:h:PATH   HASH  the bucket's key → value
//
// A nested bucket's path is its parent's path, a unit separator (0x1f) and
// its name. A read of a key is guarded by the value it saw (absent
// included); a walk is guarded page by page: the commit reads each page
// again and compares, so that a key another process added, removed or
// changed where the walk looked is a conflict, and one elsewhere is not.
//
// Errors of Redis itself (down, timed out) are regie.Unavailable
// "store_unavailable": the API answers 503 with Retry-After.
package rediskv

import (
	"context"
	"crypto/sha1"
	_ "embed"
	"encoding/hex"
	"errors"
	"fmt"
	"math/rand/v2"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/regie-nl/regie"
	"github.com/regie-nl/regie/store/kv"
)

var (
	//go:embed commit.lua
	commitLua    string
	commitScript = redis.NewScript(commitLua)
	//go:embed range.lua
	rangeLua    string
	rangeScript = redis.NewScript(rangeLua)
)

// A walk reads firstPage keys at first and twice as many on every next
// read, up to maxPage: most walks want one or two keys (a seek and a step).
const (
	firstPage = 1
	maxPage   = 256
)

// maxCached bounds the writers' cache (entries); it is emptied when full.
const maxCached = 100_000

// maxAttempts bounds how often a transaction runs again after conflicts.
const maxAttempts = 1000

const sep = "\x1f"

// DB is a Redis database as a kv.DB. It is safe for concurrent use.
type DB struct {
	c      redis.UniversalClient
	tag    string // "{name}"
	wmu    sync.Mutex
	known  sync.Map // bucket path → struct{}: buckets seen to exist (buckets are deleted only by this process's DeleteBucket)
	closed atomic.Bool

	// The cache holds hash fields and walk pages as this process last read or
	// wrote them, for its writers: a writer's read from the cache is guarded
	// like any other, so a value another process changed since fails the
	// commit, which empties the cache and runs the transaction again. Readers
	// (View) neither read nor fill it; warming views (WarmView) read and fill
	// it, so that the reads a request makes before it queues for the writer
	// are not made again by the writer.
	cmu    sync.Mutex
	cache  map[[2]string]cached  // {hash key, field} → value
	ranges map[string]*pathCache // bucket path → its cached pages and own writes
	pairs  int                   // key–value pairs in cached pages (bounded by maxCached)
	seq    uint64                // own commits and cache clearings so far
	floor  uint64                // seq at the last clearing: reads begun before it are not stored

	commits, conflicts atomic.Int64
}

// New returns the database named name on the client. Closing it closes the client.
func New(c redis.UniversalClient, name string) *DB {
	return &DB{c: c, tag: "{" + name + "}", cache: map[[2]string]cached{}, ranges: map[string]*pathCache{}}
}

// cached is a hash field's value as seen at own commit seq; present false
// for absent.
type cached struct {
	value   string
	present bool
	seq     uint64
}

type rangeKey struct {
	from string
	rev  bool
	size int
}

// cachedRange is one page of a walk and the key interval it covers.
type cachedRange struct {
	pairs  []pair
	lo, hi string // lo ≤ covered keys ≤ hi
	hiInf  bool   // no upper end
}

func (r cachedRange) covers(k string) bool { return r.lo <= k && (r.hiInf || k <= r.hi) }

// pathCache is a bucket's cached pages, and the keys own commits wrote in it
// lately, so that a view's page older than such a write is not stored.
type pathCache struct {
	pages   map[rangeKey]cachedRange
	commits []commitKeys // oldest first
	trimmed uint64       // own commits up to this seq are no longer listed
}

// commitKeys are the keys one own commit wrote in a bucket, sorted.
type commitKeys struct {
	seq  uint64
	keys []string
}

// anyIn reports whether a sorted key list has a key the page covers.
func (r cachedRange) anyIn(keys []string) bool {
	i := sort.SearchStrings(keys, r.lo)
	return i < len(keys) && (r.hiInf || keys[i] <= r.hi)
}

const maxOwnCommits = 256

// forget empties the cache (after a conflict).
func (db *DB) forget() {
	db.cmu.Lock()
	db.clearLocked()
	db.cmu.Unlock()
}

// clearLocked empties the cache; views begun before may hold values older
// than what was cleared, so they may not store theirs.
func (db *DB) clearLocked() {
	clear(db.cache)
	clear(db.ranges)
	db.pairs = 0
	db.seq++
	db.floor = db.seq
}

// store puts a value read at own commit seq `at` in the cache, unless an
// own commit wrote the field since (the value read may be older than it).
func (db *DB) store(k [2]string, c cached) {
	db.cmu.Lock()
	defer db.cmu.Unlock()
	if c.seq < db.floor {
		return
	}
	if old, ok := db.cache[k]; ok && old.seq > c.seq {
		return
	}
	if len(db.cache) >= maxCached {
		db.clearLocked()
		return
	}
	db.cache[k] = c
}

// storeRange is store for a page of a walk: it is not stored when an own
// commit since `at` wrote a key it covers.
func (db *DB) storeRange(path string, k rangeKey, r cachedRange, at uint64) {
	db.cmu.Lock()
	defer db.cmu.Unlock()
	if at < db.floor {
		return
	}
	pc := db.ranges[path]
	if pc == nil {
		if len(db.ranges) >= maxCached/64 {
			db.clearLocked()
			return
		}
		pc = &pathCache{pages: map[rangeKey]cachedRange{}, trimmed: db.floor}
		db.ranges[path] = pc
	}
	if pc.trimmed > at {
		return
	}
	for i := len(pc.commits) - 1; i >= 0 && pc.commits[i].seq > at; i-- {
		if r.anyIn(pc.commits[i].keys) {
			return
		}
	}
	if db.pairs+len(r.pairs) > maxCached {
		db.clearLocked()
		return
	}
	db.pairs += len(r.pairs)
	pc.pages[k] = r
}

// wroteLocked notes an own commit's writes of keys (sorted) in path: the
// pages that cover one of them are dropped.
func (db *DB) wroteLocked(path string, keys []string, at uint64) {
	pc := db.ranges[path]
	if pc == nil {
		pc = &pathCache{pages: map[rangeKey]cachedRange{}, trimmed: db.floor}
		db.ranges[path] = pc
	}
	if len(pc.commits) >= maxOwnCommits {
		half := len(pc.commits) / 2
		pc.trimmed = pc.commits[half-1].seq
		pc.commits = append(pc.commits[:0], pc.commits[half:]...)
	}
	pc.commits = append(pc.commits, commitKeys{at, keys})
	for rk, r := range pc.pages {
		if r.anyIn(keys) {
			delete(pc.pages, rk)
			db.pairs -= len(r.pairs)
		}
	}
}

func (db *DB) lookup(k [2]string) (cached, bool) {
	db.cmu.Lock()
	c, ok := db.cache[k]
	db.cmu.Unlock()
	return c, ok
}

func (db *DB) lookupRange(path string, k rangeKey) (cachedRange, bool) {
	db.cmu.Lock()
	defer db.cmu.Unlock()
	if pc := db.ranges[path]; pc != nil {
		r, ok := pc.pages[k]
		return r, ok
	}
	return cachedRange{}, false
}

// Client returns the Redis client.
func (db *DB) Client() redis.UniversalClient { return db.c }

// Stats are the commits and the conflicts (transactions run again) so far.
func (db *DB) Stats() (commits, conflicts int64) { return db.commits.Load(), db.conflicts.Load() }

// Ping asks Redis (every master, for a cluster) whether it answers.
func (db *DB) Ping(ctx context.Context) error {
	var err error
	if cc, ok := db.c.(*redis.ClusterClient); ok {
		err = cc.ForEachMaster(ctx, func(ctx context.Context, c *redis.Client) error { return c.Ping(ctx).Err() })
	} else {
		err = db.c.Ping(ctx).Err()
	}
	if err != nil {
		return unavailable(err)
	}
	return nil
}

// Close closes the client.
func (db *DB) Close() error {
	if db.closed.Swap(true) {
		return nil
	}
	return db.c.Close()
}

func (db *DB) key(kind, path string) string {
	if path == "" {
		return db.tag + ":" + kind
	}
	return db.tag + ":" + kind + ":" + path
}

// errConflict ends a run of a transaction whose reads were overtaken.
var errConflict = errors.New("rediskv: conflict")

// unavailable wraps an error of Redis as regie.Unavailable, except an error
// Redis answered that no retry cures (a bug, such as a script error), which
// is regie.Internal.
func unavailable(err error) error {
	var reply redis.Error
	if errors.As(err, &reply) && !transient(reply.Error()) {
		return fmt.Errorf("%w: %w", regie.Errorf(regie.Internal, "store_error", "the store (Redis) refused an operation"), err)
	}
	return fmt.Errorf("%w: %w", regie.Errorf(regie.Unavailable, "store_unavailable", "the store (Redis) does not answer; try again shortly"), err)
}

// transient reports whether an error reply of Redis passes by itself or
// by an operator's hand, not by a change of regie: the server is loading, a
// cluster is failing over, a replica is read-only, memory is full (OOM,
// noeviction), the disk refused a snapshot (MISCONF).
func transient(msg string) bool {
	for _, p := range []string{"LOADING", "BUSY", "CLUSTERDOWN", "MASTERDOWN", "TRYAGAIN", "READONLY", "MOVED", "ASK", "NOREPLICAS", "OOM", "MISCONF"} {
		if strings.HasPrefix(msg, p) {
			return true
		}
	}
	return false
}

// Update runs fn in an optimistic transaction, again after a conflict.
func (db *DB) Update(fn func(kv.Tx) error) error {
	if db.closed.Load() {
		return errors.New("rediskv: closed")
	}
	db.wmu.Lock()
	defer db.wmu.Unlock()
	for attempt := 1; ; attempt++ {
		t := newTx(db, true)
		err := fn(t)
		if t.err == nil {
			var ok bool
			if err != nil {
				// fn failed on what it read; make sure that was true, or run again.
				ok, t.err = t.commit(true)
			} else {
				ok, t.err = t.commit(false)
				if ok && t.err == nil {
					db.commits.Add(1)
					for _, f := range t.onCommit {
						f()
					}
					return nil
				}
			}
			if !ok && t.err == nil {
				t.err = errConflict
			}
			if t.err == nil {
				return err
			}
		}
		if !errors.Is(t.err, errConflict) {
			return t.err
		}
		db.conflicts.Add(1)
		db.forget()
		if attempt == maxAttempts {
			return regie.Errorf(regie.Unavailable, "store_contended", "the store stayed too busy for this change; try again")
		}
		time.Sleep(time.Duration(rand.IntN(min(attempt, 20)*100)) * time.Microsecond)
	}
}

// View runs fn reading straight from Redis. Each read is atomic on its own
// (a key, or a page of a walk); a view does not see one snapshot of several.
func (db *DB) View(fn func(kv.Tx) error) error {
	if db.closed.Load() {
		return errors.New("rediskv: closed")
	}
	t := newTx(db, false)
	err := fn(t)
	if t.err != nil {
		return t.err
	}
	return err
}

// guard is a read the commit checks: an operation of commit.lua whose first
// `keys` arguments are key names (sent as indexes into KEYS).
type guard struct {
	op   string
	keys int
	args []string
}

type tx struct {
	db       *DB
	ctx      context.Context
	writable bool
	err      error // the first failure of Redis or conflict; it wins over fn's result
	guards   []guard
	guarded  map[[2]string]bool
	buckets  map[string]*bucket // path → state; nil for one known to be missing
	bops     []bucketOp         // creations and deletions, in order
	onCommit []func()
	at       uint64 // own commits when the transaction began (for the cache)
	warm     bool   // a WarmView: reads through the cache too
}

type bucketOp struct {
	op   byte // 'c' create, 'x' delete
	path string
}

func newTx(db *DB, writable bool) *tx {
	db.cmu.Lock()
	at := db.seq
	db.cmu.Unlock()
	return &tx{db: db, ctx: context.Background(), writable: writable, at: at, guarded: map[[2]string]bool{}, buckets: map[string]*bucket{}}
}

func (t *tx) fail(err error) {
	if t.err == nil {
		if errors.Is(err, errConflict) {
			t.err = err
		} else {
			t.err = unavailable(err)
		}
	}
}

// guard remembers a read of a hash field for the commit to check, once per
// field.
func (t *tx) guard(op, key, field string, present bool, value string) {
	if !t.writable {
		return
	}
	k := [2]string{key, field}
	if t.guarded[k] {
		return
	}
	t.guarded[k] = true
	p := "0"
	if present {
		p = "1"
	}
	t.guards = append(t.guards, guard{op, 1, []string{key, field, p, value}})
}

// hget reads a hash field: for a writer from the process's cache when it is
// there (the commit's guard checks it is still true), else from Redis. ok
// is false when Redis failed (t.err is set).
func (t *tx) hget(key, field string) (value string, present, ok bool) {
	ck := [2]string{key, field}
	if t.writable || t.warm {
		if c, hit := t.db.lookup(ck); hit {
			return c.value, c.present, true
		}
	}
	if t.err != nil {
		return "", false, false
	}
	v, err := t.db.c.HGet(t.ctx, key, field).Result()
	if err != nil && err != redis.Nil {
		t.fail(err)
		return "", false, false
	}
	if t.writable || t.warm {
		t.db.store(ck, cached{v, err == nil, t.at})
	}
	return v, err == nil, true
}

func (t *tx) DB() kv.DB          { return t.db }
func (t *tx) OnCommit(fn func()) { t.onCommit = append(t.onCommit, fn) }

func (t *tx) Bucket(name []byte) kv.Bucket { return t.bucket(string(name)) }

func (t *tx) CreateBucket(name []byte) (kv.Bucket, error) { return t.create(string(name), false) }

func (t *tx) CreateBucketIfNotExists(name []byte) (kv.Bucket, error) {
	return t.create(string(name), true)
}

func (t *tx) DeleteBucket(name []byte) error {
	path := string(name)
	if t.bucket(path) == nil {
		return fmt.Errorf("rediskv: delete bucket %q: no such bucket", path)
	}
	if !t.writable {
		return errors.New("rediskv: delete bucket in a read-only transaction")
	}
	t.bops = append(t.bops, bucketOp{'x', path})
	t.buckets[path] = nil
	return nil
}

// bucket returns the bucket at path, or nil (as a kv.Bucket) when it is missing.
func (t *tx) bucket(path string) kv.Bucket {
	if b, ok := t.buckets[path]; ok {
		if b == nil {
			return nil
		}
		return b
	}
	if _, ok := t.db.known.Load(path); !ok {
		v, present, ok := t.hget(t.db.key("b", ""), path)
		if !ok {
			return nil
		}
		t.guard("e", t.db.key("b", ""), path, present, v)
		if !present {
			t.buckets[path] = nil
			return nil
		}
		t.db.known.Store(path, struct{}{})
	}
	b := newBucket(t, path, false)
	t.buckets[path] = b
	return b
}

func (t *tx) create(path string, ifMissing bool) (kv.Bucket, error) {
	if b := t.bucket(path); b != nil {
		if ifMissing {
			return b, nil
		}
		return nil, fmt.Errorf("rediskv: create bucket %q: it exists", path)
	}
	if t.err != nil {
		return nil, t.err
	}
	if !t.writable {
		return nil, errors.New("rediskv: create bucket in a read-only transaction")
	}
	deleted := false
	for _, op := range t.bops {
		deleted = deleted || (op.op == 'x' && op.path == path)
	}
	t.bops = append(t.bops, bucketOp{'c', path})
	b := newBucket(t, path, deleted)
	t.buckets[path] = b
	return b, nil
}

// commit checks the guards and, unless onlyCheck, applies the writes, in
// one script. ok is false on a conflict.
func (t *tx) commit(onlyCheck bool) (ok bool, err error) {
	keys := []string{}
	index := map[string]string{}
	ix := func(k string) string {
		if i, ok := index[k]; ok {
			return i
		}
		keys = append(keys, k)
		i := strconv.Itoa(len(keys))
		index[k] = i
		return i
	}
	argv := []any{}
	for _, g := range t.guards {
		argv = append(argv, g.op)
		for i, a := range g.args {
			if i < g.keys {
				argv = append(argv, ix(a))
			} else {
				argv = append(argv, a)
			}
		}
	}
	writes := 0
	if !onlyCheck {
		db := t.db
		for _, op := range t.bops {
			switch op.op {
			case 'c':
				argv = append(argv, "c", ix(db.key("b", "")), op.path)
			case 'x':
				argv = append(argv, "x", ix(db.key("b", "")), ix(db.key("z", op.path)), ix(db.key("h", op.path)), ix(db.key("s", "")), op.path)
			}
			writes++
		}
		paths := make([]string, 0, len(t.buckets))
		for p, b := range t.buckets {
			if b != nil {
				paths = append(paths, p)
			}
		}
		sort.Strings(paths)
		for _, p := range paths {
			b := t.buckets[p]
			for _, k := range b.keys {
				w := b.overlay[k]
				if w.deleted {
					argv = append(argv, "d", ix(db.key("z", p)), ix(db.key("h", p)), k)
				} else {
					argv = append(argv, "p", ix(db.key("z", p)), ix(db.key("h", p)), k, w.value)
				}
				writes++
			}
			if b.seqDirty {
				argv = append(argv, "s", ix(db.key("s", "")), p, strconv.FormatUint(b.seq, 10))
				writes++
			}
		}
	}
	if writes == 0 && len(t.guards) == 0 {
		return true, nil
	}
	res, err := commitScript.Run(t.ctx, t.db.c, keys, argv...).Text()
	if err != nil {
		return false, unavailable(err)
	}
	if res == "OK" {
		if !onlyCheck {
			t.remember()
		}
		return true, nil
	}
	return false, nil
}

// remember puts what a committed transaction wrote in the cache, and drops
// the cached pages of the buckets it wrote in.
func (t *tx) remember() {
	db := t.db
	db.cmu.Lock()
	defer db.cmu.Unlock()
	for _, op := range t.bops {
		if op.op == 'x' {
			db.known.Delete(op.path)
			db.clearLocked() // its keys are gone; rare (a migration)
		}
	}
	if len(db.cache) >= maxCached {
		db.clearLocked()
	}
	db.seq++
	at := db.seq
	for _, op := range t.bops {
		if pc := db.ranges[op.path]; pc != nil {
			for _, r := range pc.pages {
				db.pairs -= len(r.pairs)
			}
		}
		db.ranges[op.path] = &pathCache{pages: map[rangeKey]cachedRange{}, trimmed: at}
		if op.op == 'c' {
			db.cache[[2]string{db.key("b", ""), op.path}] = cached{"1", true, at}
		}
	}
	for p, b := range t.buckets {
		if b == nil {
			continue
		}
		if len(b.keys) > 0 {
			db.wroteLocked(p, b.keys, at)
		}
		hk := db.key("h", p)
		for k, w := range b.overlay {
			db.cache[[2]string{hk, k}] = cached{w.value, !w.deleted, at}
		}
		if b.seqDirty {
			db.cache[[2]string{db.key("s", ""), p}] = cached{strconv.FormatUint(b.seq, 10), true, at}
		}
	}
}

func sha1hex(v string) string {
	s := sha1.Sum([]byte(v))
	return hex.EncodeToString(s[:])
}

// write is a key's value written, or deleted, in a transaction.
type write struct {
	value   string
	deleted bool
}

// bucket is one bucket as one transaction sees it: what Redis holds, with
// the transaction's own writes laid over it.
type bucket struct {
	t        *tx
	path     string
	cleared  bool              // deleted (and made again) in this transaction: Redis's keys do not count
	overlay  map[string]write  // this transaction's writes
	keys     []string          // the overlay's keys, sorted
	cache    map[string]string // values read, "" with ok false for absent
	absent   map[string]bool
	seq      uint64
	seqKnown bool
	seqDirty bool
}

func newBucket(t *tx, path string, cleared bool) *bucket {
	return &bucket{t: t, path: path, cleared: cleared, overlay: map[string]write{}, cache: map[string]string{}, absent: map[string]bool{}}
}

func (b *bucket) Get(k []byte) []byte {
	key := string(k)
	if w, ok := b.overlay[key]; ok {
		if w.deleted {
			return nil
		}
		return []byte(w.value)
	}
	if b.cleared || b.absent[key] {
		return nil
	}
	if v, ok := b.cache[key]; ok {
		return []byte(v)
	}
	t := b.t
	if t.err != nil {
		return nil
	}
	hk := t.db.key("h", b.path)
	v, present, ok := t.hget(hk, key)
	switch {
	case !ok:
		return nil
	case !present:
		t.guard("e", hk, key, false, "")
		b.absent[key] = true
		return nil
	}
	t.guard("h", hk, key, true, sha1hex(v))
	b.cache[key] = v
	return []byte(v)
}

// Prefetch implements kv.Prefetcher: one HMGET of the keys not cached yet.
func (b *bucket) Prefetch(keys [][]byte) {
	t := b.t
	if b.cleared || t.err != nil || len(keys) == 0 {
		return
	}
	hk := t.db.key("h", b.path)
	fields := make([]string, 0, len(keys))
	for _, k := range keys {
		if _, hit := t.db.lookup([2]string{hk, string(k)}); !hit {
			fields = append(fields, string(k))
		}
	}
	if len(fields) == 0 {
		return
	}
	vs, err := t.db.c.HMGet(t.ctx, hk, fields...).Result()
	if err != nil {
		t.fail(err)
		return
	}
	for i, v := range vs {
		s, ok := v.(string)
		t.db.store([2]string{hk, fields[i]}, cached{s, ok, t.at})
	}
}

func (b *bucket) Put(k, v []byte) error {
	if !b.t.writable {
		return errors.New("rediskv: put in a read-only transaction")
	}
	if len(k) == 0 {
		return errors.New("rediskv: put of an empty key")
	}
	b.set(string(k), write{value: string(v)})
	return nil
}

func (b *bucket) Delete(k []byte) error {
	if !b.t.writable {
		return errors.New("rediskv: delete in a read-only transaction")
	}
	b.set(string(k), write{deleted: true})
	return nil
}

func (b *bucket) set(key string, w write) {
	if _, ok := b.overlay[key]; !ok {
		i := sort.SearchStrings(b.keys, key)
		b.keys = append(b.keys, "")
		copy(b.keys[i+1:], b.keys[i:])
		b.keys[i] = key
	}
	b.overlay[key] = w
}

func (b *bucket) NextSequence() (uint64, error) {
	t := b.t
	if !t.writable {
		return 0, errors.New("rediskv: NextSequence in a read-only transaction")
	}
	if !b.seqKnown {
		sk := t.db.key("s", "")
		v, present, ok := t.hget(sk, b.path)
		if !ok {
			return 0, t.err
		}
		t.guard("e", sk, b.path, present, v)
		if present && !b.cleared {
			var err error
			if b.seq, err = strconv.ParseUint(v, 10, 64); err != nil {
				return 0, fmt.Errorf("rediskv: sequence of %q: %w", b.path, err)
			}
		}
		b.seqKnown = true
	}
	b.seq++
	b.seqDirty = true
	return b.seq, nil
}

func (b *bucket) Bucket(name []byte) kv.Bucket { return b.t.bucket(b.path + sep + string(name)) }

func (b *bucket) CreateBucketIfNotExists(name []byte) (kv.Bucket, error) {
	return b.t.create(b.path+sep+string(name), true)
}

func (b *bucket) ForEach(fn func(k, v []byte) error) error {
	c := b.Cursor()
	for k, v := c.First(); k != nil; k, v = c.Next() {
		if err := fn(k, v); err != nil {
			return err
		}
	}
	return b.t.err
}

// ForEachBucket lists the nested buckets that exist in Redis or were made in
// this transaction.
func (b *bucket) ForEachBucket(fn func(name []byte) error) error {
	t := b.t
	paths, err := t.db.c.HKeys(t.ctx, t.db.key("b", "")).Result()
	if err != nil {
		t.fail(err)
		return t.err
	}
	prefix := b.path + sep
	names := map[string]bool{}
	for _, p := range paths {
		if name, ok := strings.CutPrefix(p, prefix); ok && !strings.Contains(name, sep) {
			names[name] = true
		}
	}
	for p, nb := range t.buckets {
		if name, ok := strings.CutPrefix(p, prefix); ok && !strings.Contains(name, sep) {
			names[name] = nb != nil
		}
	}
	sorted := make([]string, 0, len(names))
	for n, ok := range names {
		if ok {
			sorted = append(sorted, n)
		}
	}
	sort.Strings(sorted)
	for _, n := range sorted {
		if err := fn([]byte(n)); err != nil {
			return err
		}
	}
	return nil
}

// page reads up to size keys of Redis from bound on, forward or in
// reverse (for a writer from the cache when it is there). A writer's page is
// guarded: the commit reads it again and finds it unchanged.
func (b *bucket) page(from string, rev bool, size int) []pair {
	t := b.t
	if b.cleared || t.err != nil {
		return nil
	}
	to, dir := "+", ""
	if rev {
		to, dir = "-", "rev"
	}
	rk := rangeKey{from, rev, size}
	zk, hk := t.db.key("z", b.path), t.db.key("h", b.path)
	r, hit := cachedRange{}, false
	if t.writable || t.warm {
		r, hit = t.db.lookupRange(b.path, rk)
	}
	if !hit {
		res, err := rangeScript.Run(t.ctx, t.db.c, []string{zk, hk}, from, to, size, dir).StringSlice()
		if err != nil {
			t.fail(err)
			return nil
		}
		r.pairs = make([]pair, 0, len(res)/2)
		for i := 0; i+1 < len(res); i += 2 {
			r.pairs = append(r.pairs, pair{res[i], res[i+1]})
		}
		r.lo, r.hi, r.hiInf = interval(from, rev, r.pairs, size)
		if t.writable || t.warm {
			t.db.storeRange(b.path, rk, r, t.at)
		}
	}
	if t.writable {
		gk := [2]string{zk, "\x00page" + dir + strconv.Itoa(size) + from}
		if !t.guarded[gk] {
			t.guarded[gk] = true
			t.guards = append(t.guards, guard{"r", 2, []string{zk, hk, from, to, strconv.Itoa(size), dir, pageHash(r.pairs)}})
		}
	}
	return r.pairs
}

// interval is the key interval a page read from the bound covers: up to
// its last key when it is full, else to the end.
func interval(from string, rev bool, pairs []pair, size int) (lo, hi string, hiInf bool) {
	x := ""
	if len(from) > 0 && (from[0] == '[' || from[0] == '(') {
		x = from[1:]
	}
	full := len(pairs) == size && size > 0
	if !rev {
		if full {
			return x, pairs[len(pairs)-1].k, false
		}
		return x, "", true
	}
	lo = "" // every key is ≥ ""
	if full {
		lo = pairs[len(pairs)-1].k
	}
	if from == "+" {
		return lo, "", true
	}
	return lo, x, false
}

// pageHash is what commit.lua computes over a page.
func pageHash(pairs []pair) string {
	h := sha1.New()
	for _, p := range pairs {
		fmt.Fprintf(h, "%d:%s%d:%s", len(p.k), p.k, len(p.v), p.v)
	}
	return hex.EncodeToString(h.Sum(nil))
}

type pair struct{ k, v string }

// WarmView implements kv.Warmed: a view that reads through the writers'
// cache and fills it.
func (db *DB) WarmView(fn func(kv.Tx) error) error {
	if db.closed.Load() {
		return errors.New("rediskv: closed")
	}
	t := newTx(db, false)
	t.warm = true
	err := fn(t)
	if t.err != nil {
		return t.err
	}
	return err
}
