/** One write as a sink receives it: the last write of its key in the batch. */
export interface WriteBehindRecord<V = unknown> {
  /** The key given to `write`. */
  readonly key: string
  /** The value given to `write`, decoded. */
  readonly value: V
  /**
   * The write's version: its stream id (`<ms>-<seq>`). Versions of one key only grow; compare them
   * with `compareVersions` (or store `versionToDecimal(version)` and compare numbers).
   */
  readonly version: string
}

/**
 * Where write-behind entries end up (a database table, a search index, an API).
 *
 * `writeBatch` must be **idempotent by key and version**: the same record may arrive twice (after a
 * crash between the sink's commit and the acknowledgement) and an older version may arrive after a
 * newer one (a retried or claimed batch). Keep a version per key and ignore a record whose version is
 * not greater than the stored one, as `postgresSink` does.
 *
 * Resolve only once the records are durable; a rejection retries the batch (with backoff) and, after
 * `maxAttempts`, moves its entries to the dead-letter stream with the error.
 */
export interface WriteBehindSink<V = unknown> {
  /** Writes records whose keys are distinct within one call. */
  writeBatch(records: readonly WriteBehindRecord<V>[]): Promise<void>
}
