// Package embedded implements store.Store on one local bbolt file, for the
// all-in-one binary and for tests: no server, same contract as redisstore.
//
// # Layout
//
// One file (one DB) holds any number of namespaces, each service of the process
// opening its own with DB.Namespace. Buckets:
//
//	ns/<namespace>/<shard>/docs              key -> version (8 bytes, big endian) + value
//	ns/<namespace>/<shard>/idx/<index>       SortKey "\x00" ID -> empty
//	ns/<namespace>/<shard>/events            sequence (8 bytes BE) -> payload
//	ns/<namespace>/<shard>/groups/<group>    "last" -> last delivered sequence
//	ns/<namespace>/<shard>/groups/<group>/pending
//	                                         sequence -> delivery time (unix ns, 8 bytes BE) + consumer
//
// A shard's buckets are created by its first write; reads treat missing buckets as
// empty. A consumer group that does not exist yet is the same as one positioned at
// the start of the streams, so it is only written when it first receives messages.
//
// # Guarantees
//
//   - Every Commit, and every ReadGroup, Ack and Claim that changes group state, is
//     one bbolt read-write transaction, fsync'd before it returns: what was
//     acknowledged survives a crash, consumer group state included. Transactions
//     are serialised, so batches are atomic and isolated.
//   - Preconditions are checked before anything is written, each against the
//     version the batch's earlier ops leave the document at.
//   - Message.ID is the event's sequence in its shard, zero-padded to 20 digits, so
//     IDs are unique and sort in stream order.
//   - ReadGroup never hands out more than count (0 or less means 100) and, while
//     blocking, wakes as soon as a Commit in the namespace appends events; a
//     cancelled ctx or Close ends the wait at once.
//   - Idle ReadGroup and Claim calls only read, so polling costs no fsync.
//   - Events are never deleted; the file grows with the streams.
//
// The file is locked by the process that opened it; a second Open waits up to one
// second and then fails.
package embedded
