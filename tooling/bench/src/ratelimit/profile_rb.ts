// Scratch: redis-benchmark per script (not committed).
import { execFileSync } from 'node:child_process'
import { decideScript } from '../../../../packages/ratelimit/src/redis/decide_script.js'

const cli = (...a: string[]) =>
  execFileSync('redis-cli', ['-p', '17777', ...a])
    .toString()
    .trim()
const rb = (name: string, args: string[]) => {
  cli('FLUSHALL')
  cli('CONFIG', 'RESETSTAT')
  const out = execFileSync('redis-benchmark', [
    '-p',
    '17777',
    '-n',
    '300000',
    '-P',
    '64',
    '-q',
    '-r',
    '10000',
    ...args,
  ]).toString()
  const st = /usec_per_call=([\d.]+)/.exec(cli('INFO', 'commandstats'))?.[1]
  console.log(name.padEnd(22), out.trim().split('\r').pop()!.replace(/^.*: /, ''), st, 'µs/call')
}
const gen = decideScript(['fw']).source
const shaGen = cli('SCRIPT', 'LOAD', gen)
const shaMin = cli(
  'SCRIPT',
  'LOAD',
  `local n = redis.call('INCR', KEYS[1]) if n == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end return n`,
)
const rlf = `redis.call('set', KEYS[1], 0, 'EX', ARGV[2], 'NX') local consumed = redis.call('incrby', KEYS[1], ARGV[1]) local ttl = redis.call('pttl', KEYS[1]) return {consumed, ttl}`
const shaRlf = cli('SCRIPT', 'LOAD', rlf)
const args = (sha: string) => [
  'EVALSHA',
  sha,
  '2',
  'b:{__rand_int__}',
  'w:{__rand_int__}',
  'l',
  '1',
  '1000000000',
  '3600000000',
  '1000000000',
]
const v = (name: string, body: string) => rb(name, args(cli('SCRIPT', 'LOAD', body)))
rb('minimal', ['EVALSHA', shaMin, '1', 'm:{__rand_int__}', '3600000'])
rb('rate-limiter-flexible', ['EVALSHA', shaRlf, '1', 'f:{__rand_int__}', '1', '3600'])
v('ours', gen)
v('empty', 'return 1')
v('prelude', gen.replace('local key1 = KEYS[2]', 'do return 1 end local key1 = KEYS[2]'))
v('prelude+check', gen.replace('local allowed', 'do return 1 end local allowed'))
v('all but reply', gen.replace(/return \{ 0, now, corrupt[^\n]*/, 'return 1'))
v('TIME only', "local t = redis.call('TIME') return 1")
v('PTTL only', "local t = redis.call('PTTL', KEYS[1]) return 1")
v(
  'GET+PEXPIRETIME',
  "local t = redis.call('GET', KEYS[2]) local e = redis.call('PEXPIRETIME', KEYS[2]) return 1",
)
v('INCRBY', "redis.call('INCRBY', KEYS[2], 1) return 1")
