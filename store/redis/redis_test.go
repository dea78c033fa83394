package redis_test

import (
	"fmt"
	"os"
	"sync/atomic"
	"testing"

	"github.com/regie-nl/regie/store"
	"github.com/regie-nl/regie/store/redis"
	"github.com/regie-nl/regie/store/redis/redistest"
	"github.com/regie-nl/regie/store/storetest"
)

// The package's tests share one standalone server and one 3-master cluster,
// started here on loopback; every store opened on them has its own name.
var (
	standalone *redistest.Server
	cluster    *redistest.Cluster
	names      atomic.Int64
)

func TestMain(m *testing.M) {
	var err error
	if standalone, err = redistest.Start(redistest.Config{}); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	if cluster, err = redistest.StartCluster(3); err != nil {
		standalone.Close()
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := m.Run()
	standalone.Close()
	cluster.Close()
	os.Exit(code)
}

// open opens a fresh store named uniquely on the deployment at url.
func open(t testing.TB, url string) *redis.DB {
	t.Helper()
	db, err := redis.Open(fmt.Sprintf("%s?name=t%d", url, names.Add(1)), redis.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return db
}

func TestDB_Conformance(t *testing.T) {
	t.Run("standalone", func(t *testing.T) {
		storetest.Run(t, func(t *testing.T) store.Store { return open(t, standalone.URL()) })
	})
	t.Run("cluster", func(t *testing.T) {
		storetest.Run(t, func(t *testing.T) store.Store { return open(t, cluster.URL()) })
	})
}
