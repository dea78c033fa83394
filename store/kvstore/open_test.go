package kvstore

import "github.com/regie-nl/regie/store/kv/boltkv"

// openFile opens a store on a bbolt file, for the benchmarks of this package.
func openFile(path string) (*DB, error) {
	b, err := boltkv.Open(path)
	if err != nil {
		return nil, err
	}
	return Open(b, Options{})
}
