// Package store names what a storage backend provides and opens one by URL.
//
// A backend implements every domain store interface at once, because one
// settlement reads vouchers, choices, providers and tariffs and writes the
// ledger in a single atomic step. The backend is chosen by the URL scheme:
//
//	bolt:PATH                      the embedded default (go.etcd.io/bbolt), one durable file
//	redis://host:port/db           one Redis server, shared by several regie processes
//	redis-cluster://h1:p1,h2:p2    a Redis Cluster
//
// Both run the same store logic (package kvstore), so they behave alike.
package store

import (
	"context"
	"fmt"
	"io"
	neturl "net/url"
	"strings"

	"github.com/regie-nl/regie/matching"
	"github.com/regie-nl/regie/settlement"
	"github.com/regie-nl/regie/store/bolt"
	"github.com/regie-nl/regie/store/redis"
	"github.com/regie-nl/regie/voucher"
)

// Store is everything a backend provides.
type Store interface {
	voucher.Store
	matching.Store
	settlement.Ledger
	// Ping reports whether the backend can serve requests now (for /readyz).
	Ping(ctx context.Context) error
	// Meta reads and writes small operator values, such as whether the demo
	// data set was loaded. Meta returns "" when the key is not set.
	Meta(ctx context.Context, key string) (string, error)
	SetMeta(ctx context.Context, key, value string) error
	io.Closer
}

// Open opens the store named by url, such as "bolt:./data/regie.db".
func Open(url string) (Store, error) {
	scheme, rest, _ := strings.Cut(url, ":")
	switch scheme {
	case "bolt":
		if rest == "" {
			return nil, fmt.Errorf("store %q: bolt needs a file path, as in bolt:./data/regie.db", url)
		}
		return bolt.Open(rest, bolt.Options{})
	case "redis", "rediss", "redis-cluster":
		return redis.Open(url, redis.Options{})
	}
	return nil, fmt.Errorf("store %q: unknown scheme (want bolt:PATH, redis://host:port/db or redis-cluster://h1:p1,h2:p2)", Redacted(url))
}

// Redacted is url with any password replaced by "xxxxx", for logs.
func Redacted(raw string) string {
	u, err := neturl.Parse(raw)
	if err != nil || u.User == nil {
		if strings.Contains(raw, "@") {
			return "(store URL with credentials)"
		}
		return raw
	}
	return u.Redacted()
}
