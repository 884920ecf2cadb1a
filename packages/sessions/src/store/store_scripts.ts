import { createHash } from 'node:crypto'

/**
 * Scripts of `RedisStore`. A session is a hash of its top-level properties, each serialized on its
 * own; a destroyed one leaves a tombstone in the same slot. Both scripts refuse to write a session
 * whose tombstone stands: a request that read the session before a logout and saves after it gets
 * nothing back into Redis.
 */

/**
 * KEYS: session, tombstone. ARGV: ttl in seconds (0: no expiry), replace ('1': drop every field
 * first, for a session written whole), number of fields to set, their field/value pairs, then the
 * fields to delete. Returns 1, or 0 when refused.
 */
const SAVE = `
if redis.call('EXISTS', KEYS[2]) == 1 then return 0 end
if ARGV[2] == '1' then redis.call('DEL', KEYS[1]) end
local n = tonumber(ARGV[3])
if n > 0 then
  local fields = {}
  for i = 4, 3 + 2 * n do fields[#fields + 1] = ARGV[i] end
  redis.call('HSET', KEYS[1], unpack(fields))
end
for i = 4 + 2 * n, #ARGV do redis.call('HDEL', KEYS[1], ARGV[i]) end
if redis.call('EXISTS', KEYS[1]) == 0 then return 1 end
local ttl = tonumber(ARGV[1])
if ttl > 0 then redis.call('EXPIRE', KEYS[1], ttl) else redis.call('PERSIST', KEYS[1]) end
return 1
`

/**
 * KEYS: session, tombstone. ARGV: the tombstone's life in ms when the session has no TTL left to go
 * by. The tombstone lives as long as the session still could have. Returns 1 if it existed.
 */
const DESTROY = `
local left = redis.call('PTTL', KEYS[1])
local existed = redis.call('DEL', KEYS[1])
local life = tonumber(ARGV[1])
if left > life then life = left end
redis.call('SET', KEYS[2], '1', 'PX', life)
return existed
`

function script(body: string) {
  return { body, sha: createHash('sha1').update(body).digest('hex') }
}

export const STORE_SCRIPTS = { save: script(SAVE), destroy: script(DESTROY) } as const
