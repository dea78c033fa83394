// Package redis is the store on Redis or Redis Cluster: every regie store
// interface (package kvstore) on kv/rediskv, so that several `regie serve`
// processes share one deployment. It is chosen by URL:
//
//	redis://[user:password@]host:port/db[?name=regie]
//	redis-cluster://host1:port1,host2:port2,...[?name=regie]
//
// name (default "regie") is the hash tag of every key, {name}: one database
// lives in one cluster slot, and several databases can share a deployment.
package redis

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"time"

	goredis "github.com/redis/go-redis/v9"
	"github.com/regie-nl/regie/store/kv/rediskv"
	"github.com/regie-nl/regie/store/kvstore"
)

// DB is the store; see package kvstore for its methods.
type DB = kvstore.DB

// Options tune the store's group commit; the zero value suits `regie serve`.
type Options = kvstore.Options

// Timeouts of the client: short, so that while Redis is down the API
// answers 503 quickly instead of hanging.
const (
	dialTimeout = time.Second
	ioTimeout   = 3 * time.Second
)

// Open connects to the Redis deployment named by rawURL and opens the store
// in it, creating what is missing.
func Open(rawURL string, opts Options) (*DB, error) {
	c, name, err := Client(rawURL)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := c.Ping(ctx).Err(); err != nil {
		c.Close()
		return nil, fmt.Errorf("redis: %s: %w", redact(rawURL), err)
	}
	db, err := kvstore.Open(rediskv.New(c, name), opts)
	if err != nil {
		c.Close()
		return nil, err
	}
	return db, nil
}

// Client makes the client for rawURL and returns the database name in it.
func Client(rawURL string) (goredis.UniversalClient, string, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, "", fmt.Errorf("redis: store URL: %w", err)
	}
	name := u.Query().Get("name")
	if name == "" {
		name = "regie"
	}
	if strings.ContainsAny(name, "{}") {
		return nil, "", fmt.Errorf("redis: store URL: name %q may not contain braces", name)
	}
	q := u.Query()
	q.Del("name")
	u.RawQuery = q.Encode()
	switch u.Scheme {
	case "redis", "rediss":
		o, err := goredis.ParseURL(u.String())
		if err != nil {
			return nil, "", fmt.Errorf("redis: store URL: %w", err)
		}
		o.DialTimeout, o.ReadTimeout, o.WriteTimeout = dialTimeout, ioTimeout, ioTimeout
		o.MaxRetries = 1
		return goredis.NewClient(o), name, nil
	case "redis-cluster":
		if u.Host == "" {
			return nil, "", fmt.Errorf("redis: store URL %q: name the cluster's nodes, as in redis-cluster://h1:7000,h2:7001", redact(rawURL))
		}
		o := &goredis.ClusterOptions{
			Addrs:       strings.Split(u.Host, ","),
			DialTimeout: dialTimeout, ReadTimeout: ioTimeout, WriteTimeout: ioTimeout, MaxRetries: 1,
		}
		if u.User != nil {
			o.Username = u.User.Username()
			o.Password, _ = u.User.Password()
		}
		return goredis.NewClusterClient(o), name, nil
	}
	return nil, "", fmt.Errorf("redis: store URL %q: want redis:// or redis-cluster://", redact(rawURL))
}

// redact drops a password from a URL for messages.
func redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparsable URL)"
	}
	return u.Redacted()
}
