import { createHash } from 'node:crypto'

/**
 * The one Lua script behind every Redis decision: `limit`, `peek` and `refund` of every algorithm,
 * for one rule or several at once.
 *
 * KEYS[1] is the key's block marker (`block(key, duration)`), KEYS[2..] the state of each rule, all
 * in one hash slot (`{key}` is their hash tag). ARGV: mode (`l` limit, `p` peek, `r` refund), cost,
 * then four values per rule: algorithm, limit, window in µs, burst.
 *
 * The time is Redis' `TIME`, in µs, so a skewed clock on an app host cannot widen a limit. A limit
 * checks every rule first and writes only when all of them allow: a denied request consumes
 * nothing anywhere. State that is not what the script wrote (wrong type, garbage) is dropped and
 * reported, never trusted.
 *
 * Reply: { blocked ms or 0, now µs, corrupt rule flags (bit i = rule i+1), then per rule:
 * allowed 0|1, remaining, reset µs, retry µs (-1 = never: the cost exceeds the capacity) }.
 */
export const DECIDE_SCRIPT = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local mode = ARGV[1]
local cost = tonumber(ARGV[2])
local rules = #KEYS - 1
local corrupt = 0

if mode ~= 'r' then
  local blocked = redis.call('PTTL', KEYS[1])
  if blocked > 0 then
    return { blocked, now, 0 }
  end
end

-- Reads a hash's fields, or nil (and the key dropped) when it is not a hash this script wrote.
local function read_hash(key, rule, a, b)
  local got = redis.pcall('HMGET', key, a, b)
  if got.err then
    redis.call('DEL', key)
    corrupt = corrupt + 2 ^ (rule - 1)
    return nil, nil
  end
  local x, y = got[1], got[2]
  if x == false and y == false then return nil, nil end
  x, y = tonumber(x), tonumber(y)
  if x == nil or y == nil then
    redis.call('DEL', key)
    corrupt = corrupt + 2 ^ (rule - 1)
    return nil, nil
  end
  return x, y
end

local function read_number(key, rule)
  local got = redis.pcall('GET', key)
  if type(got) == 'table' and got.err then
    redis.call('DEL', key)
    corrupt = corrupt + 2 ^ (rule - 1)
    return nil
  end
  if got == false then return nil end
  local n = tonumber(got)
  if n == nil then
    redis.call('DEL', key)
    corrupt = corrupt + 2 ^ (rule - 1)
  end
  return n
end

local function ms(us)
  return math.ceil(us / 1000)
end

-- Each algorithm answers: allowed, remaining, reset µs, retry µs, and a function that records the
-- cost (called only when every rule allows). A refund calls the function with a negative cost.

local function fixed_window(key, rule, limit, window, burst)
  local count = read_number(key, rule)
  local ends = 0
  if count ~= nil then
    ends = redis.call('PEXPIRETIME', key)
    if ends < 0 then count = nil end
  end
  if count == nil then
    count = 0
    ends = math.floor(now / 1000) + ms(window)
  end
  local reset = ends * 1000 - now
  local commit = function(c)
    if count == 0 then
      if c > 0 then redis.call('SET', key, c, 'PXAT', ends) end
    elseif count + c <= 0 then
      redis.call('DEL', key)
    else
      redis.call('INCRBY', key, c)
    end
  end
  if count + cost <= limit then
    return true, limit - count - cost, reset, 0, commit
  end
  local retry = reset
  if cost > limit then retry = -1 end
  return false, math.max(0, limit - count), reset, retry, commit
end

local function sliding_window(key, rule, limit, window, burst)
  local index = math.floor(now / window)
  local at, current, previous = nil, 0, 0
  local got = redis.pcall('HMGET', key, 'w', 'c', 'p')
  if got.err then
    redis.call('DEL', key)
    corrupt = corrupt + 2 ^ (rule - 1)
  elseif got[1] ~= false then
    at, current, previous = tonumber(got[1]), tonumber(got[2]), tonumber(got[3])
    if at == nil or current == nil or previous == nil then
      redis.call('DEL', key)
      corrupt = corrupt + 2 ^ (rule - 1)
      at, current, previous = nil, 0, 0
    end
  end
  if at == index - 1 then
    previous, current = current, 0
  elseif at ~= index then
    previous, current = 0, 0
  end
  local elapsed = now - index * window
  local estimate = previous * (window - elapsed) / window + current
  local left = window - elapsed
  local commit = function(c)
    redis.call('HSET', key, 'w', index, 'c', math.max(0, current + c), 'p', previous)
    redis.call('PEXPIRE', key, ms(left + window))
  end
  local reset = 0
  if current > 0 then reset = left + window elseif previous > 0 then reset = left end
  if estimate + cost <= limit then
    if current + cost > 0 then reset = left + window end
    return true, math.floor(limit - estimate - cost), reset, 0, commit
  end
  local retry
  if cost > limit then
    retry = -1
  elseif current + cost <= limit then
    -- Later in this window the previous window weighs less: wait until it weighs little enough.
    retry = window - (limit - current - cost) * window / previous - elapsed
  else
    -- Only the next window helps, where this one becomes the weighted previous.
    retry = left + window * (1 - (limit - cost) / (current))
  end
  return false, math.max(0, math.floor(limit - estimate)), reset, math.ceil(retry), commit
end

local function sliding_log(key, rule, limit, window, burst)
  local got = redis.pcall('ZREMRANGEBYSCORE', key, '-inf', now - window)
  if type(got) == 'table' and got.err then
    redis.call('DEL', key)
    corrupt = corrupt + 2 ^ (rule - 1)
  end
  local count = redis.call('ZCARD', key)
  local reset = 0
  if count > 0 then
    local newest = redis.call('ZRANGE', key, -1, -1, 'WITHSCORES')
    reset = tonumber(newest[2]) + window - now
  end
  local commit = function(c)
    if c < 0 then
      redis.call('ZPOPMAX', key, -c)
      return
    end
    -- Members sort as their scores do (zero-padded), so a refund pops the newest.
    for i = 1, c do
      redis.call('ZADD', key, now, string.format('%017d:%09d', now, count + i))
    end
    redis.call('PEXPIRE', key, ms(window) + 1)
  end
  if count + cost <= limit then
    if cost > 0 then reset = window end
    return true, limit - count - cost, reset, 0, commit
  end
  local retry = -1
  if cost <= limit then
    -- The oldest (count + cost - limit) entries must leave the window first.
    local oldest = redis.call('ZRANGE', key, count + cost - limit - 1, count + cost - limit - 1, 'WITHSCORES')
    retry = tonumber(oldest[2]) + window - now
  end
  return false, math.max(0, limit - count), reset, retry, commit
end

local function token_bucket(key, rule, limit, window, burst)
  local rate = limit / window
  local tokens, stamp = read_hash(key, rule, 'k', 't')
  if tokens == nil then
    tokens = burst
  else
    tokens = math.min(burst, tokens + math.max(0, now - stamp) * rate)
  end
  local commit = function(c)
    local left = math.min(burst, tokens - c)
    redis.call('HSET', key, 'k', string.format('%.17g', left), 't', now)
    redis.call('PEXPIRE', key, ms((burst - left) / rate) + 1)
  end
  -- A billionth of a token of slack: the refill is floating point, and a retry at the announced
  -- microsecond must find the token there.
  if tokens + 1e-9 >= cost then
    return true, math.max(0, math.floor(tokens - cost + 1e-9)), math.ceil((burst - tokens + cost) / rate), 0, commit
  end
  local retry = -1
  if cost <= burst then retry = math.max(1, math.ceil((cost - 1e-9 - tokens) / rate)) end
  return false, math.floor(tokens), math.ceil((burst - tokens) / rate), retry, commit
end

local function gcra(key, rule, limit, window, burst)
  local interval = window / limit
  local tolerance = interval * burst
  local arrival = read_number(key, rule)
  if arrival == nil or arrival < now then arrival = now end
  local after = arrival + cost * interval
  local allow_at = after - tolerance
  local commit = function(c)
    local moved = math.max(now, arrival + c * interval)
    if moved <= now then
      redis.call('DEL', key)
    else
      redis.call('SET', key, string.format('%.17g', moved), 'PX', ms(moved - now) + 1)
    end
  end
  if allow_at <= now then
    return true, math.floor((tolerance - (after - now)) / interval), math.ceil(after - now), 0, commit
  end
  local retry = -1
  if cost <= burst then retry = math.ceil(allow_at - now) end
  return false, math.max(0, math.floor((tolerance - (arrival - now)) / interval)), math.ceil(arrival - now), retry, commit
end

local algorithms = {
  fw = fixed_window, sw = sliding_window, sl = sliding_log, tb = token_bucket, gc = gcra,
}

local reply = { 0, now, 0 }
local commits = {}
local allowed = true
for i = 1, rules do
  local base = 3 + (i - 1) * 4
  local run = algorithms[ARGV[base]]
  local ok, remaining, reset, retry, commit = run(
    KEYS[i + 1], i, tonumber(ARGV[base + 1]), tonumber(ARGV[base + 2]), tonumber(ARGV[base + 3])
  )
  if not ok then allowed = false end
  commits[i] = commit
  local at = 4 + (i - 1) * 4
  reply[at] = ok and 1 or 0
  reply[at + 1] = remaining
  reply[at + 2] = reset
  reply[at + 3] = retry
end

if mode == 'l' and allowed and cost > 0 then
  for i = 1, rules do commits[i](cost) end
elseif mode == 'r' and cost > 0 then
  for i = 1, rules do commits[i](-cost) end
end
reply[3] = corrupt
return reply
`

/** The script's SHA-1, for EVALSHA. */
export const DECIDE_SCRIPT_SHA = createHash('sha1').update(DECIDE_SCRIPT).digest('hex')
