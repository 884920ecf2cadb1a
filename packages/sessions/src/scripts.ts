import { createHash } from 'node:crypto'

/**
 * The Lua scripts of the Redis backend. Each runs atomically on the slot of one user (see keys.ts),
 * reads the time from Redis `TIME` (so app hosts' clocks never disagree about an expiry), and keeps
 * the user's index in step with the sessions: an index entry is scored by its session's expiry, the
 * index itself expires an hour after its last session, and every script that reads it first drops
 * what expired. Keys below the user's base (another session's key, its tombstone) are built inside the
 * scripts from `base`, and always share the declared keys' slot.
 *
 * Session hash fields: `~v` version, `~a` absolute deadline in ms (0: none), `~m` encoded metadata,
 * `d:<name>` an encoded data field.
 */

const PRELUDE = `
-- Milliseconds with the microseconds as a fraction: index scores made in the same millisecond keep
-- their order (the session that would expire first is the one created or used first).
local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000
end
-- How long a destroyed session's tombstone lives: as long as the session could have.
local function tomb_ttl(now, deadline, ttl)
  if deadline > now then return deadline - now end
  return ttl
end
-- The next expiry of a session: ttl from now, never past its absolute deadline.
local function expiry(now, ttl, deadline)
  local at = now + ttl
  if deadline > 0 and deadline < at then return deadline end
  return at
end
-- The index outlives its longest-lived session by an hour, so a read just after a session expired
-- can still tell "expired" from "never was"; then it goes by itself.
local function keep_index(index)
  local last = redis.call('ZRANGE', index, -1, -1, 'WITHSCORES')
  if #last == 0 then redis.call('DEL', index) else redis.call('PEXPIREAT', index, math.ceil(tonumber(last[2])) + 3600000) end
end
local function gone(session, tombstone)
  if redis.call('EXISTS', tombstone) == 1 then return {'destroyed'} end
  return {'missing'}
end
`

/**
 * KEYS: session, index. ARGV: random, ttl, absolute timeout (0: none), maxPerUser (0: none), onLimit,
 * base, then field/value pairs (`~m` among them). Returns `{expiresAt, evicted...}`, or `{-1}` when
 * refused.
 */
const CREATE = `${PRELUDE}
local now = now_ms()
local ttl = tonumber(ARGV[2])
local deadline = 0
if tonumber(ARGV[3]) > 0 then deadline = math.floor(now + tonumber(ARGV[3])) end
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now)
local evicted = {}
local max = tonumber(ARGV[4])
if max > 0 then
  local count = redis.call('ZCARD', KEYS[2])
  if count >= max then
    if ARGV[5] == 'refuse' then return {-1} end
    -- The sessions that would expire first: with sliding, the least recently used.
    for _, victim in ipairs(redis.call('ZRANGE', KEYS[2], 0, count - max)) do
      local key = ARGV[6] .. 's:' .. victim
      local victim_deadline = tonumber(redis.call('HGET', key, '~a') or '0')
      if redis.call('DEL', key) == 1 then
        redis.call('SET', ARGV[6] .. 't:' .. victim, '1', 'PX', math.ceil(tomb_ttl(now, victim_deadline, ttl)))
      end
      redis.call('ZREM', KEYS[2], victim)
      evicted[#evicted + 1] = victim
    end
  end
end
local expires = expiry(now, ttl, deadline)
local hash = {'~v', 1, '~a', deadline}
for i = 7, #ARGV do hash[#hash + 1] = ARGV[i] end
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], unpack(hash))
redis.call('PEXPIREAT', KEYS[1], math.floor(expires))
redis.call('ZADD', KEYS[2], expires, ARGV[1])
keep_index(KEYS[2])
local out = {math.floor(expires)}
for _, victim in ipairs(evicted) do out[#out + 1] = victim end
return out
`

/**
 * KEYS: session, index, tombstone. ARGV: random, slide ('1' or '0'), ttl.
 * Returns `{'ok', expiresAt, field, value, ...}`, `{'expired'}`, `{'destroyed'}` or `{'missing'}`.
 */
const READ = `${PRELUDE}
local now = now_ms()
local fields = redis.call('HGETALL', KEYS[1])
if #fields == 0 then
  if redis.call('EXISTS', KEYS[3]) == 1 then return {'destroyed'} end
  -- Still indexed: it expired (Redis dropped the key), as opposed to never having existed.
  if redis.call('ZREM', KEYS[2], ARGV[1]) == 1 then return {'expired'} end
  return {'missing'}
end
local expires
if ARGV[2] == '1' then
  expires = expiry(now, tonumber(ARGV[3]), tonumber(redis.call('HGET', KEYS[1], '~a') or '0'))
  redis.call('PEXPIREAT', KEYS[1], math.floor(expires))
  redis.call('ZADD', KEYS[2], 'XX', expires, ARGV[1])
  keep_index(KEYS[2])
else
  expires = now + redis.call('PTTL', KEYS[1])
end
local out = {'ok', tostring(math.floor(expires))}
for i = 1, #fields do out[#out + 1] = fields[i] end
return out
`

/**
 * KEYS: session, tombstone. ARGV: expected version ('' for any), number of fields to set, the
 * field/value pairs, then fields to delete. Returns `{'ok', expiresAt, field, value, ...}` (the
 * session after the write), `{'conflict'}`, `{'destroyed'}` or `{'missing'}`: a write never brings
 * a session back.
 */
const PATCH = `${PRELUDE}
if redis.call('EXISTS', KEYS[1]) == 0 then return gone(KEYS[1], KEYS[2]) end
if ARGV[1] ~= '' and redis.call('HGET', KEYS[1], '~v') ~= ARGV[1] then return {'conflict'} end
local n = tonumber(ARGV[2])
if n > 0 then
  local pairs_ = {}
  for i = 3, 2 + 2 * n do pairs_[#pairs_ + 1] = ARGV[i] end
  redis.call('HSET', KEYS[1], unpack(pairs_))
end
for i = 3 + 2 * n, #ARGV do redis.call('HDEL', KEYS[1], ARGV[i]) end
redis.call('HINCRBY', KEYS[1], '~v', 1)
local out = {'ok', tostring(math.floor(now_ms() + redis.call('PTTL', KEYS[1])))}
for _, item in ipairs(redis.call('HGETALL', KEYS[1])) do out[#out + 1] = item end
return out
`

/** KEYS: session, index, tombstone. ARGV: random, ttl. Returns `{'ok', expiresAt}`, or why not. */
const TOUCH = `${PRELUDE}
if redis.call('EXISTS', KEYS[1]) == 0 then return gone(KEYS[1], KEYS[3]) end
local expires = expiry(now_ms(), tonumber(ARGV[2]), tonumber(redis.call('HGET', KEYS[1], '~a') or '0'))
redis.call('PEXPIREAT', KEYS[1], math.floor(expires))
redis.call('ZADD', KEYS[2], 'XX', expires, ARGV[1])
keep_index(KEYS[2])
return {'ok', math.floor(expires)}
`

/** KEYS: index. ARGV: base, ttl, then randoms. Returns the randoms of the sessions that existed. */
const DESTROY = `${PRELUDE}
local now = now_ms()
local ttl = tonumber(ARGV[2])
local destroyed = {}
for i = 3, #ARGV do
  local key = ARGV[1] .. 's:' .. ARGV[i]
  local deadline = tonumber(redis.call('HGET', key, '~a') or '0')
  if redis.call('DEL', key) == 1 then
    redis.call('SET', ARGV[1] .. 't:' .. ARGV[i], '1', 'PX', math.ceil(tomb_ttl(now, deadline, ttl)))
    destroyed[#destroyed + 1] = ARGV[i]
  end
  redis.call('ZREM', KEYS[1], ARGV[i])
end
keep_index(KEYS[1])
return destroyed
`

/**
 * KEYS: old session, new session, index, old tombstone. ARGV: old random, new random, expected
 * version, ttl, then field/value pairs (`~m` among them, encoded for the new key). The old session goes (with
 * its tombstone) and the new one comes in one step, keeping the old absolute deadline.
 */
const REGENERATE = `${PRELUDE}
if redis.call('EXISTS', KEYS[1]) == 0 then return gone(KEYS[1], KEYS[4]) end
if redis.call('HGET', KEYS[1], '~v') ~= ARGV[3] then return {'conflict'} end
local now = now_ms()
local ttl = tonumber(ARGV[4])
local deadline = tonumber(redis.call('HGET', KEYS[1], '~a') or '0')
redis.call('DEL', KEYS[1])
redis.call('SET', KEYS[4], '1', 'PX', math.ceil(tomb_ttl(now, deadline, ttl)))
redis.call('ZREM', KEYS[3], ARGV[1])
local expires = expiry(now, ttl, deadline)
local hash = {'~v', 1, '~a', deadline}
for i = 5, #ARGV do hash[#hash + 1] = ARGV[i] end
redis.call('HSET', KEYS[2], unpack(hash))
redis.call('PEXPIREAT', KEYS[2], math.floor(expires))
redis.call('ZADD', KEYS[3], expires, ARGV[2])
keep_index(KEYS[3])
return {'ok', math.floor(expires)}
`

/** KEYS: index. ARGV: base. Returns `random, expiresAt, meta` for each live session. */
const LIST = `${PRELUDE}
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now_ms())
local entries = redis.call('ZRANGE', KEYS[1], 0, -1, 'WITHSCORES')
local out = {}
for i = 1, #entries, 2 do
  local meta = redis.call('HGET', ARGV[1] .. 's:' .. entries[i], '~m')
  if meta then
    out[#out + 1] = entries[i]
    out[#out + 1] = entries[i + 1]
    out[#out + 1] = meta
  else
    redis.call('ZREM', KEYS[1], entries[i])
  end
end
keep_index(KEYS[1])
return out
`

/** KEYS: one counter. ARGV: none. Drops what expired; returns how many remain. */
const COUNT = `
local t = redis.call('TIME')
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000))
return redis.call('ZCARD', KEYS[1])
`

/** A script and its SHA-1, for EVALSHA. */
export interface Script {
  readonly name: string
  readonly body: string
  readonly sha: string
}

function script(name: string, body: string): Script {
  return { name, body, sha: createHash('sha1').update(body).digest('hex') }
}

export const SCRIPTS = {
  create: script('create', CREATE),
  read: script('read', READ),
  patch: script('patch', PATCH),
  touch: script('touch', TOUCH),
  destroy: script('destroy', DESTROY),
  regenerate: script('regenerate', REGENERATE),
  list: script('list', LIST),
  count: script('count', COUNT),
} as const
