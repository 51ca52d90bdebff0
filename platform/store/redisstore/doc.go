// Package redisstore implements store.Store on Redis (standalone, Sentinel or
// Cluster) through a go-redis UniversalClient. It needs Redis 6.2 or newer
// (ZRANGE ... BYLEX REV, XAUTOCLAIM).
//
// # Key layout
//
// Every key of shard s of namespace ns carries the hash tag {ns:s}, so all keys
// one batch touches hash to one Redis Cluster slot:
//
//	polku:{ns:s}:d:<key>      hash: v = version (decimal), d = document bytes
//	polku:{ns:s}:i:<index>    sorted set, every score 0, member SortKey "\x00" ID,
//	                          read by lex range (byte order = index order)
//	polku:{ns:s}:events       stream of the shard's events, field p = payload
//
// Consumer groups are the streams' own consumer groups, created at ID 0 (the start
// of the stream) the first time a group reads.
//
// # Guarantees
//
//   - Commit is one Lua script (EVALSHA): it checks every precondition of the
//     batch first, against the state as the batch's earlier ops leave it, and only
//     then writes documents and index entries and XADDs the events. Redis runs a
//     script without interleaving, so the batch is atomic and isolated. (Redis has
//     no rollback: a script that errors half-way keeps its earlier writes. Every
//     failure the port defines is found by the checks, before the first write.)
//   - Durability is the server's: acknowledged writes survive a restart only as
//     far as its persistence (AOF with appendfsync) and replication allow.
//     WithWaitReplicas makes Commit also wait for replicas (WAIT) and fail with
//     ErrNotReplicated when they do not confirm; see docs/resilience.md.
//   - ReadGroup never hands out more than count messages. On a single-node client
//     it reads every shard's stream in one script call and, when nothing is ready,
//     waits with one blocking XREAD over all streams, so a commit wakes it at once;
//     on a Cluster (or Ring) client it reads shard by shard and, while waiting,
//     polls every 100ms. Blocking calls last at most 100ms each, so a cancelled ctx
//     ends a wait within about that.
//   - A count of 0 or less in ReadGroup or Claim means 100.
//   - Streams are trimmed only by TrimEvents (store.Trimmer), and then only below
//     what every consumer group of the stream has acknowledged. A group created
//     after a trim starts at the oldest event left.
//
// The namespace must not contain '{' or '}' (it would break the hash tag).
package redisstore
