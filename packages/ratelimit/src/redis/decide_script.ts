import { createHash } from 'node:crypto'
import type { AlgorithmCode, Rule } from '../rules.js'

/**
 * The Lua script behind every Redis decision of a limiter: `limit`, `peek` and `refund`, for its
 * rules, checked together.
 *
 * One call decides a batch: for each decision, its keys (the block marker of
 * `block(key, duration)`, then the state of each rule, all in one hash slot: `{key}` is their hash
 * tag) and two arguments, mode (`l` limit, `p` peek, `r` refund) and cost. The rules' limits,
 * windows and bursts are constants of the script: fewer arguments to send and parse.
 *
 * The time is Redis' `TIME`, in µs, so a skewed clock on an app host cannot widen a limit. A limit
 * checks every rule first and writes only when all of them allow: a denied request consumes
 * nothing anywhere. State that is not what the script wrote (wrong type, garbage) is dropped and
 * reported, never trusted.
 *
 * Reply: one array per decision, { blocked ms or 0, now µs, corrupt rule flags (bit i = rule i+1),
 * then per rule: allowed 0|1, remaining, reset µs, retry µs (-1 = never: the cost exceeds the
 * capacity) }. All decisions of a call share one `TIME`.
 *
 * The script is generated per limiter, straight-line: no dispatch on the algorithm and one Lua
 * closure per call, not one per algorithm and commit (those cost ~2 µs of server time a decision,
 * measured with redis-benchmark).
 */
export interface DecideScript {
  readonly source: string
  readonly sha: string
}

/** The script for these rules, in this order. */
export function decideScript(rules: readonly Rule[]): DecideScript {
  const codes = rules.map((rule) => rule.code)
  // The block marker and every string state come back from one MGET (one call instead of one per key).
  const read = ['KEYS[k + 1]']
  const slots = rules.map((rule, i) => (rule.code === 'sl' ? 0 : read.push(`KEYS[k + ${i + 2}]`)))
  const source = [
    "local t = redis.call('TIME')",
    'local now = tonumber(t[1]) * 1000000 + tonumber(t[2])',
    // One decision: its keys start after KEYS[k].
    'local function decide(k, mode, cost)',
    PRELUDE.replace('MGET_KEYS', read.join(', ')),
    ...rules.map((rule, i) => head(i + 1, rule, slots[i]!) + SNIPPETS[rule.code].check(i + 1)),
    `local allowed = ${codes.map((_, i) => `ok${i + 1}`).join(' and ')}`,
    'local delta = 0',
    "if mode == 'l' and allowed then delta = cost elseif mode == 'r' then delta = -cost end",
    'if delta ~= 0 then',
    ...codes.map((code, i) => SNIPPETS[code].commit(i + 1)),
    'end',
    `return { 0, now, corrupt, ${codes.map((_, i) => `ok${i + 1} and 1 or 0, rem${i + 1}, reset${i + 1}, retry${i + 1}`).join(', ')} }`,
    'end',
    // Every decision of the call, in order: KEYS in groups of (rules + 1), ARGV in pairs.
    'local out = {}',
    `for d = 0, #KEYS / ${rules.length + 1} - 1 do`,
    `  out[d + 1] = decide(d * ${rules.length + 1}, ARGV[d * 2 + 1], tonumber(ARGV[d * 2 + 2]))`,
    'end',
    'return out',
  ].join('\n')
  return { source, sha: createHash('sha1').update(source).digest('hex') }
}

// A block marker's existence is read with the states; its time left (PTTL) only when it exists.
const PRELUDE = `
local corrupt = 0
local read = redis.call('MGET', MGET_KEYS)
if mode ~= 'r' and read[1] then
  local blocked = redis.call('PTTL', KEYS[k + 1])
  if blocked > 0 then return { blocked, now, 0 } end
end`

/**
 * Each algorithm as two pieces of Lua for rule `i`: `check` sets ok<i>, rem<i>, reset<i>, retry<i>
 * (and what `commit` needs); `commit` records `delta` (the cost, or minus it for a refund).
 * States are strings: a count, a time, or numbers joined by `:` (one read, one write each),
 * except the sliding log's sorted set. MGET reads a key of another type as missing, so a foreign value is replaced by
 * the next write; a string that does not parse is dropped and reported (`drop`).
 */
interface Snippet {
  check(i: number): string
  commit(i: number): string
}

const head = (i: number, rule: Rule, slot: number) => `
local key${i} = KEYS[k + ${i + 1}]
local got${i} = ${slot === 0 ? 'false' : `read[${slot}]`}
local limit${i}, window${i}, burst${i} = ${rule.limit}, ${rule.windowMs * 1000}, ${rule.burst}`
const drop = (i: number) => `redis.call('DEL', key${i}) corrupt = corrupt + ${2 ** (i - 1)}`
/** Numbers as Lua writes them exactly (µs times have 16 digits: more than `..` keeps). */
const exact = (expression: string) => `string.format('%.17g', ${expression})`

const SNIPPETS: Record<AlgorithmCode, Snippet> = {
  // A count whose key expires at the window's end (PXAT): the window starts at the first request.
  // Counted in place with INCRBY: building a new string value in Lua on every decision cost the
  // server more than the extra PEXPIRETIME read (redis-benchmark, 64 pipelined).
  fw: {
    check: (i) => `
local count${i}, ends${i} = 0, nil
if got${i} then
  count${i} = tonumber(got${i})
  if count${i} == nil then ${drop(i)} count${i} = 0
  else
    ends${i} = redis.call('PEXPIRETIME', key${i})
    if ends${i} < 0 then count${i}, ends${i} = 0, nil end
  end
end
if ends${i} == nil then ends${i} = math.floor(now / 1000) + math.ceil(window${i} / 1000) end
local reset${i} = ends${i} * 1000 - now
local ok${i} = count${i} + cost <= limit${i}
local rem${i}, retry${i} = limit${i} - count${i} - cost, 0
if not ok${i} then
  rem${i} = math.max(0, limit${i} - count${i})
  if cost > limit${i} then retry${i} = -1 else retry${i} = reset${i} end
end`,
    commit: (i) => `
if count${i} == 0 then
  if delta > 0 then redis.call('SET', key${i}, delta, 'PXAT', ends${i}) end
elseif count${i} + delta <= 0 then redis.call('DEL', key${i})
else redis.call('INCRBY', key${i}, delta) end`,
  },

  // "window index:count:previous count": this aligned window's count and the previous one's,
  // weighted by how much of it the sliding window still covers.
  sw: {
    check: (i) => `
local index${i} = math.floor(now / window${i})
local current${i}, previous${i} = 0, 0
if got${i} then
  local at, c, p = string.match(got${i}, '^([^:]+):([^:]+):([^:]+)$')
  at, c, p = tonumber(at), tonumber(c), tonumber(p)
  if at == nil or c == nil or p == nil then ${drop(i)}
  elseif at == index${i} then current${i}, previous${i} = c, p
  elseif at == index${i} - 1 then previous${i} = c end
end
local elapsed${i} = now - index${i} * window${i}
local left${i} = window${i} - elapsed${i}
local estimate${i} = previous${i} * left${i} / window${i} + current${i}
local reset${i} = 0
if current${i} > 0 then reset${i} = left${i} + window${i} elseif previous${i} > 0 then reset${i} = left${i} end
local ok${i} = estimate${i} + cost <= limit${i}
local rem${i}, retry${i} = 0, 0
if ok${i} then
  if current${i} + cost > 0 then reset${i} = left${i} + window${i} end
  rem${i} = math.floor(limit${i} - estimate${i} - cost)
else
  rem${i} = math.max(0, math.floor(limit${i} - estimate${i}))
  if cost > limit${i} then retry${i} = -1
  elseif current${i} + cost <= limit${i} then
    -- Later in this window the previous one weighs less: wait until it weighs little enough.
    retry${i} = math.ceil(window${i} - (limit${i} - current${i} - cost) * window${i} / previous${i} - elapsed${i})
  else
    -- Only the next window helps, where this one becomes the weighted previous.
    retry${i} = math.ceil(left${i} + window${i} * (1 - (limit${i} - cost) / current${i}))
  end
end`,
    commit: (i) => `
redis.call('SET', key${i}, ${exact(`index${i}`)} .. ':' .. ${exact(`math.max(0, current${i} + delta)`)} .. ':' .. ${exact(`previous${i}`)}, 'PX', math.ceil((left${i} + window${i}) / 1000))`,
  },

  // Every allowed request's time in a sorted set; what is older than the window is removed first.
  sl: {
    check: (i) => `
local removed${i} = redis.pcall('ZREMRANGEBYSCORE', key${i}, '-inf', now - window${i})
if type(removed${i}) == 'table' and removed${i}.err then ${drop(i)} end
local count${i} = redis.call('ZCARD', key${i})
local ok${i} = count${i} + cost <= limit${i}
local rem${i}, reset${i}, retry${i} = limit${i} - count${i} - cost, window${i}, 0
if not ok${i} or cost == 0 then
  reset${i} = 0
  if count${i} > 0 then
    local newest = redis.call('ZRANGE', key${i}, -1, -1, 'WITHSCORES')
    reset${i} = tonumber(newest[2]) + window${i} - now
  end
end
if not ok${i} then
  rem${i} = math.max(0, limit${i} - count${i})
  if cost > limit${i} then retry${i} = -1
  else
    -- The oldest (count + cost - limit) entries must leave the window first.
    local nth = count${i} + cost - limit${i} - 1
    local oldest = redis.call('ZRANGE', key${i}, nth, nth, 'WITHSCORES')
    retry${i} = tonumber(oldest[2]) + window${i} - now
  end
end`,
    // Members sort as their scores do (zero-padded), so a refund pops the newest.
    commit: (i) => `
if delta < 0 then redis.call('ZPOPMAX', key${i}, -delta)
else
  for j = 1, delta do redis.call('ZADD', key${i}, now, string.format('%017d:%09d', now, count${i} + j)) end
  redis.call('PEXPIRE', key${i}, math.ceil(window${i} / 1000) + 1)
end`,
  },

  // "tokens:when counted (µs)"; the refill is continuous.
  tb: {
    check: (i) => `
local rate${i} = limit${i} / window${i}
local tokens${i} = burst${i}
if got${i} then
  local k, at = string.match(got${i}, '^([^:]+):([^:]+)$')
  k, at = tonumber(k), tonumber(at)
  if k == nil or at == nil then ${drop(i)}
  else tokens${i} = math.min(burst${i}, k + math.max(0, now - at) * rate${i}) end
end
-- A billionth of a token of slack: the refill is floating point, and a retry at the announced
-- microsecond must find the token there.
local ok${i} = tokens${i} + 1e-9 >= cost
local rem${i} = math.max(0, math.floor(tokens${i} - cost + 1e-9))
local reset${i} = math.ceil((burst${i} - tokens${i} + cost) / rate${i})
local retry${i} = 0
if not ok${i} then
  rem${i} = math.floor(tokens${i})
  reset${i} = math.ceil((burst${i} - tokens${i}) / rate${i})
  if cost > burst${i} then retry${i} = -1 else retry${i} = math.max(1, math.ceil((cost - 1e-9 - tokens${i}) / rate${i})) end
end`,
    commit: (i) => `
local left${i} = math.min(burst${i}, tokens${i} - delta)
redis.call('SET', key${i}, ${exact(`left${i}`)} .. ':' .. ${exact('now')}, 'PX', math.ceil((burst${i} - left${i}) / rate${i} / 1000) + 1)`,
  },

  // The theoretical arrival time (µs): a request may arrive once it is at most \`burst\` intervals ahead.
  gc: {
    check: (i) => `
local interval${i} = window${i} / limit${i}
local tolerance${i} = interval${i} * burst${i}
local arrival${i} = now
if got${i} then
  local at = tonumber(got${i})
  if at == nil then ${drop(i)} elseif at > now then arrival${i} = at end
end
local after${i} = arrival${i} + cost * interval${i}
local allow_at${i} = after${i} - tolerance${i}
local ok${i} = allow_at${i} <= now
local rem${i} = math.floor((tolerance${i} - (after${i} - now)) / interval${i})
local reset${i} = math.ceil(after${i} - now)
local retry${i} = 0
if not ok${i} then
  rem${i} = math.max(0, math.floor((tolerance${i} - (arrival${i} - now)) / interval${i}))
  reset${i} = math.ceil(arrival${i} - now)
  if cost > burst${i} then retry${i} = -1 else retry${i} = math.ceil(allow_at${i} - now) end
end`,
    commit: (i) => `
local moved${i} = math.max(now, arrival${i} + delta * interval${i})
if moved${i} <= now then redis.call('DEL', key${i})
else redis.call('SET', key${i}, ${exact(`moved${i}`)}, 'PX', math.ceil((moved${i} - now) / 1000) + 1) end`,
  },
}
