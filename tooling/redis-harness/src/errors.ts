/**
 * Errors the harness throws. One base class with a stable `code`, so a test or a CI script can branch
 * on the code rather than on the wording, and a `Symbol.for` marker so `isInstance` still works when
 * the harness is loaded twice (once by vitest's globalSetup in the main process, once by a test).
 */

const marker = Symbol.for('cachekit.redis-harness.error')

/** The stable codes of harness errors. New codes may be added; existing ones never change meaning. */
export type RedisHarnessErrorCode =
  /** No `redis-server` binary: not on PATH and `REDIS_SERVER_BIN` unset or wrong. */
  | 'E_REDIS_SERVER_MISSING'
  /** No `redis-cli` binary, which creating a cluster needs. */
  | 'E_REDIS_CLI_MISSING'
  /** `redis-cli --cluster create` failed. */
  | 'E_REDIS_CLI_FAILED'
  /** A server process exited while the harness waited for it to become ready. */
  | 'E_REDIS_SERVER_EXITED'
  /** A server or topology did not reach the awaited state in time. */
  | 'E_REDIS_HARNESS_TIMEOUT'
  /** No free port could be reserved. */
  | 'E_NO_FREE_PORT'
  /** `REDIS_URL` points at a server that does not answer. */
  | 'E_REDIS_URL_UNREACHABLE'
  /** The harness was used wrongly: a node of another topology, a topology the project did not select. */
  | 'E_REDIS_HARNESS_USAGE'

/** Options shared by every harness error. */
export interface RedisHarnessErrorOptions {
  /** The last lines of the server logs that explain the failure, also appended to the message. */
  logTail?: string
  /** The underlying error. */
  cause?: unknown
}

/** Base class of every error the harness throws. */
export class RedisHarnessError extends Error {
  /** A stable, machine-readable code such as `E_REDIS_SERVER_MISSING`. */
  readonly code: RedisHarnessErrorCode
  /** The last lines of the relevant server logs, when a server was involved. */
  readonly logTail: string | undefined
  /** Marks harness errors across module copies; see `isInstance`. */
  readonly [marker] = true

  constructor(code: RedisHarnessErrorCode, message: string, options: RedisHarnessErrorOptions = {}) {
    const full = options.logTail ? `${message}\n--- server log tail ---\n${options.logTail}` : message
    super(
      `[cachekit/redis-harness] ${full}`,
      options.cause === undefined ? undefined : { cause: options.cause },
    )
    this.name = new.target.name
    this.code = code
    this.logTail = options.logTail
  }

  /** True for any harness error, from this copy of the module or another. */
  static isInstance(error: unknown): error is RedisHarnessError {
    return typeof error === 'object' && error !== null && marker in error
  }

  /** True when `error` is a harness error with the given code. */
  static hasCode(error: unknown, code: RedisHarnessErrorCode): error is RedisHarnessError {
    return RedisHarnessError.isInstance(error) && error.code === code
  }
}

/** The `redis-server` binary could not be found; the message says how to install it. */
export class RedisServerMissingError extends RedisHarnessError {
  /** Where the harness looked, in order. */
  readonly searched: readonly string[]

  constructor(reason: string, searched: readonly string[]) {
    super(
      'E_REDIS_SERVER_MISSING',
      `redis-server not found: ${reason}.\n` +
        'The tests start their own redis-server processes, so the binary must be installed:\n' +
        '  Debian/Ubuntu: sudo apt-get install redis-server\n' +
        '  macOS:         brew install redis\n' +
        'or set REDIS_SERVER_BIN to the path of a redis-server binary.\n' +
        'To run the standalone tests against a server you already have, set REDIS_URL ' +
        '(e.g. REDIS_URL=redis://127.0.0.1:6380); cluster and sentinel tests still need the binary.',
    )
    this.searched = searched
  }
}
