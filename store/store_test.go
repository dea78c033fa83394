package store_test

import (
	"strings"
	"testing"

	"github.com/regie-nl/regie/store"
)

func TestRedacted(t *testing.T) {
	for in, want := range map[string]string{
		"bolt:./data/regie.db":                        "bolt:./data/regie.db",
		"redis://127.0.0.1:6379/0?name=x":             "redis://127.0.0.1:6379/0?name=x",
		"redis://regie:s3cret@10.0.0.5:6379/0":        "redis://regie:xxxxx@10.0.0.5:6379/0",
		"redis-cluster://u:pw@h1:7000,h2:7001?name=a": "redis-cluster://u:xxxxx@h1:7000,h2:7001?name=a",
	} {
		if got := store.Redacted(in); got != want {
			t.Errorf("Redacted(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestOpen_UnknownScheme(t *testing.T) {
	_, err := store.Open("postgres://u:s3cret@h/db")
	if err == nil || !strings.Contains(err.Error(), "unknown scheme") || strings.Contains(err.Error(), "s3cret") {
		t.Fatalf("Open of an unknown scheme: %v; want an unknown-scheme error without the password", err)
	}
}
