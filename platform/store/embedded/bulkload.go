package embedded

import "fmt"

// OpenBulkLoad opens the store file for a one-off bulk load by a single
// process (load-test seeding): batches commit without an fsync each, so a
// million-object seed is bounded by the B-tree work instead of the disk's
// flush latency. Call Sync before Close; a crash during the load may leave
// the file unusable, which is acceptable only for data that is generated
// again. Never use it for a serving store.
func OpenBulkLoad(path string) (*DB, error) {
	db, err := Open(path)
	if err != nil {
		return nil, err
	}
	db.bolt.NoSync = true
	return db, nil
}

// Sync flushes everything committed so far to disk.
func (db *DB) Sync() error {
	if err := db.bolt.Sync(); err != nil {
		return fmt.Errorf("embedded: sync: %w", err)
	}
	return nil
}
