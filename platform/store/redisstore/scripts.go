package redisstore

import "github.com/redis/go-redis/v9"

// commitScript applies one Batch atomically.
//
// KEYS[1] is the shard's stream; KEYS[1+i] is the document or index key of op i.
// ARGV holds three values per op (kind, number, value), then one payload per event:
//
//	c  create  number unused, value = document
//	p  put     number = expected version, value = document
//	d  delete  number = expected version
//	k  check   number = expected version (0 = must not exist)
//	a  index add     number = member
//	r  index remove  number = member
//
// Every precondition is checked before anything is written, each against the
// version the batch's earlier ops leave the document at (so Create then Put of
// one key in one batch works). The reply is {'ok'}, or {'conflict', i} /
// {'exists', i} naming the 1-based op that failed; the Go side maps these to
// store.ErrConflict / store.ErrExists.
var commitScript = redis.NewScript(`
local nops = #KEYS - 1
local cur = {}
local function version(key)
  local v = cur[key]
  if v == nil then
    v = tonumber(redis.call('HGET', key, 'v') or '0')
    cur[key] = v
  end
  return v
end

for i = 1, nops do
  local key, kind, want = KEYS[i + 1], ARGV[3 * i - 2], tonumber(ARGV[3 * i - 1])
  if kind == 'c' then
    if version(key) ~= 0 then return {'exists', i} end
    cur[key] = 1
  elseif kind == 'p' then
    local v = version(key)
    if v == 0 or v ~= want then return {'conflict', i} end
    cur[key] = v + 1
  elseif kind == 'd' then
    local v = version(key)
    if v == 0 or v ~= want then return {'conflict', i} end
    cur[key] = 0
  elseif kind == 'k' then
    if version(key) ~= want then return {'conflict', i} end
  end
end

for i = 1, nops do
  local key, kind, num, value = KEYS[i + 1], ARGV[3 * i - 2], ARGV[3 * i - 1], ARGV[3 * i]
  if kind == 'c' then
    redis.call('HSET', key, 'v', '1', 'd', value)
  elseif kind == 'p' then
    -- string.format keeps large versions out of Lua's %.14g number formatting.
    redis.call('HSET', key, 'v', string.format('%d', tonumber(num) + 1), 'd', value)
  elseif kind == 'd' then
    redis.call('DEL', key)
  elseif kind == 'a' then
    redis.call('ZADD', key, 0, num)
  elseif kind == 'r' then
    redis.call('ZREM', key, num)
  end
end

for j = 3 * nops + 1, #ARGV do
  redis.call('XADD', KEYS[1], '*', 'p', ARGV[j])
end
return {'ok'}
`)

// readScript reads up to ARGV[3] new messages for group ARGV[1], consumer ARGV[2]
// from the streams in KEYS, in that order, creating the group at the start of a
// stream the first time (XREADGROUP answers NOGROUP). Doing this in a script keeps
// the count exact over many streams in one round trip, which a multi-stream
// XREADGROUP cannot (its COUNT is per stream).
//
// The reply is {read, tails}: read is flat (key index, id, payload)*; tails, only
// when nothing was read and ARGV[4] is '1', holds each stream's last ID ('0-0'
// when empty). Taken in the same atomic step as the read, those IDs let the caller
// block on XREAD for "anything newer" without missing an event that arrives
// between the read and the wait.
var readScript = redis.NewScript(`
local group, consumer, left = ARGV[1], ARGV[2], tonumber(ARGV[3])
local read = {}
for i, key in ipairs(KEYS) do
  if left <= 0 then break end
  local args = {'XREADGROUP', 'GROUP', group, consumer, 'COUNT', left, 'STREAMS', key, '>'}
  local res = redis.pcall(unpack(args))
  if type(res) == 'table' and res.err then
    if string.sub(res.err, 1, 7) ~= 'NOGROUP' then return res end
    redis.call('XGROUP', 'CREATE', key, group, '0', 'MKSTREAM')
    res = redis.call(unpack(args))
  end
  if res then
    for _, entry in ipairs(res[1][2]) do
      local fields, payload = entry[2], ''
      for f = 1, #fields, 2 do
        if fields[f] == 'p' then payload = fields[f + 1] end
      end
      read[#read + 1] = i
      read[#read + 1] = entry[1]
      read[#read + 1] = payload
      left = left - 1
    end
  end
end

local tails = {}
if #read == 0 and ARGV[4] == '1' then
  for i, key in ipairs(KEYS) do
    local last = redis.call('XREVRANGE', key, '+', '-', 'COUNT', 1)
    tails[i] = last[1] and last[1][1] or '0-0'
  end
end
return {read, tails}
`)

// trimScript removes from one stream (KEYS[1]) the entries older than the
// cutoff ID ARGV[1] that every consumer group has acknowledged: it lowers the
// cutoff to each group's oldest pending entry and to the entry after its last
// delivered one, then trims with XTRIM MINID. One script, so no group moves
// between the look and the trim. The reply is the number of entries removed.
var trimScript = redis.NewScript(`
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
local function parse(id)
  local ms, seq = string.match(id, '^(%d+)-(%d+)$')
  return tonumber(ms), tonumber(seq)
end
local function less(a, b)
  local am, as = parse(a)
  local bm, bs = parse(b)
  return am < bm or (am == bm and as < bs)
end
local cut = ARGV[1]
for _, g in ipairs(redis.call('XINFO', 'GROUPS', KEYS[1])) do
  local f = {}
  for i = 1, #g, 2 do f[g[i]] = g[i + 1] end
  local ms, seq = string.match(f['last-delivered-id'], '^(%d+)-(%d+)$')
  local bound = ms .. '-' .. string.format('%d', tonumber(seq) + 1)
  if f['pending'] > 0 then
    local lowest = redis.call('XPENDING', KEYS[1], f['name'])[2]
    if less(lowest, bound) then bound = lowest end
  end
  if less(bound, cut) then cut = bound end
end
return redis.call('XTRIM', KEYS[1], 'MINID', cut)
`)
