import { accessSync, constants, statSync } from 'node:fs'
import { delimiter, dirname, join } from 'node:path'
import { RedisHarnessError, RedisServerMissingError } from './errors.js'

// CI images and shells started by IDEs sometimes run with a minimal PATH; these are where the
// Debian package and Homebrew put the binaries.
const usualDirs = ['/usr/bin', '/usr/local/bin', '/opt/homebrew/bin', '/usr/sbin', '/usr/local/sbin']

type Env = Readonly<Record<string, string | undefined>>

/**
 * The path of the `redis-server` binary: `REDIS_SERVER_BIN` when set, else the first `redis-server`
 * on `PATH` (then the usual install dirs).
 *
 * @param env the environment to read; defaults to `process.env`.
 * @throws {RedisServerMissingError} (`code: 'E_REDIS_SERVER_MISSING'`) with install instructions when
 *   there is none, or when `REDIS_SERVER_BIN` names something that is not an executable file.
 */
export function findRedisServer(env: Env = process.env): string {
  const explicit = env.REDIS_SERVER_BIN
  if (explicit) {
    if (isExecutableFile(explicit)) return explicit
    throw new RedisServerMissingError(`REDIS_SERVER_BIN=${explicit} is not an executable file`, [explicit])
  }
  const candidates = searchDirs(env).map((dir) => join(dir, 'redis-server'))
  const found = candidates.find(isExecutableFile)
  if (found) return found
  throw new RedisServerMissingError('no redis-server on PATH', candidates)
}

/**
 * The path of the `redis-cli` binary, needed to create a cluster: `REDIS_CLI_BIN` when set, else the
 * `redis-cli` next to `serverBin` (they ship together), else the first on `PATH`.
 *
 * @throws {RedisHarnessError} `code: 'E_REDIS_CLI_MISSING'` when there is none.
 */
export function findRedisCli(serverBin: string, env: Env = process.env): string {
  const explicit = env.REDIS_CLI_BIN
  if (explicit) {
    if (isExecutableFile(explicit)) return explicit
    throw cliMissing(`REDIS_CLI_BIN=${explicit} is not an executable file`)
  }
  const candidates = [dirname(serverBin), ...searchDirs(env)].map((dir) => join(dir, 'redis-cli'))
  const found = candidates.find(isExecutableFile)
  if (found) return found
  throw cliMissing(`no redis-cli next to ${serverBin} or on PATH`)
}

function cliMissing(reason: string): RedisHarnessError {
  return new RedisHarnessError(
    'E_REDIS_CLI_MISSING',
    `redis-cli not found (${reason}); it ships with redis-server (apt-get install redis-server / ` +
      'brew install redis), or set REDIS_CLI_BIN.',
  )
}

function searchDirs(env: Env): string[] {
  const fromPath = (env.PATH ?? '').split(delimiter).filter((dir) => dir !== '')
  return [...new Set([...fromPath, ...usualDirs])]
}

function isExecutableFile(path: string): boolean {
  try {
    if (!statSync(path).isFile()) return false
    accessSync(path, constants.X_OK)
    return true
  } catch {
    return false
  }
}
