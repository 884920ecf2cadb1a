import { InvalidOptionError } from '@cachekit/core'
import type { WriteBehindRecord, WriteBehindSink } from './sink.js'
import { compareVersions, versionToDecimal } from './version.js'

/**
 * Anything that runs a parameterized query: a `pg.Pool`, a `pg.Client`, a PGlite instance.
 * Parameters are `$1`, `$2`, ...; arrays are sent as Postgres arrays.
 */
export interface PostgresQueryable {
  query(text: string, params?: unknown[]): Promise<unknown>
}

/** Options of `postgresSink`. */
export interface PostgresSinkOptions<V> {
  /** A `pg.Pool`, a `pg.Client`, PGlite, or anything with `query(text, params)`. */
  client: PostgresQueryable
  /**
   * The table, optionally schema-qualified (`'cache_rows'`, `'app.users'`). Letters, digits and `_`
   * only, not starting with a digit, at most 63 characters per part: anything else is refused, so a
   * table name can never carry SQL.
   */
  table: string
  /** The key column, the table's primary key (or unique). Default `'key'`. */
  keyColumn?: string
  /** The value column. Default `'value'`. */
  valueColumn?: string
  /** The version column, `numeric`: see `versionToDecimal`. Default `'version'`. */
  versionColumn?: string
  /**
   * The value as sent to Postgres, a parameter cast to `valueType`. Default `JSON.stringify`, for a
   * `jsonb` column.
   */
  toColumn?: (value: V) => string | null
  /** The SQL type of the value column, used in the cast and by `createTable`. Default `'jsonb'`. */
  valueType?: 'jsonb' | 'json' | 'text'
}

/** A sink that upserts into a Postgres table; see `postgresSink`. */
export interface PostgresSink<V> extends WriteBehindSink<V> {
  /** The quoted table name, as used in its statements. */
  readonly table: string
  /** `CREATE TABLE IF NOT EXISTS` with the key, value and version columns (and `updated_at`). */
  createTable(): Promise<void>
}

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/
const VALUE_TYPES = new Set(['jsonb', 'json', 'text'])

/**
 * A write-behind sink on Postgres. Each batch is one statement, an upsert guarded by the version:
 *
 * ```sql
 * INSERT INTO t (key, value, version) SELECT * FROM unnest($1::text[], $2::jsonb[], $3::numeric[])
 * ON CONFLICT (key) DO UPDATE SET value = excluded.value, version = excluded.version
 * WHERE t.version < excluded.version
 * ```
 *
 * so a replayed or late older write never overwrites a newer one, and a batch written twice changes
 * nothing the second time. The version column holds `versionToDecimal(version)`, a `numeric`.
 *
 * @example
 * const sink = postgresSink({ client: new pg.Pool({ connectionString }), table: 'profiles' })
 * await sink.createTable()
 */
export function postgresSink<V = unknown>(options: PostgresSinkOptions<V>): PostgresSink<V> {
  if (typeof options !== 'object' || options === null) {
    throw new InvalidOptionError('[cachekit/patterns] postgresSink needs an options object')
  }
  const { client } = options
  if (!client || typeof client.query !== 'function') {
    throw new InvalidOptionError('[cachekit/patterns] `client` must have a `query(text, params)` method')
  }
  const table = qualifiedName(options.table)
  const key = identifier(options.keyColumn ?? 'key', 'keyColumn')
  const value = identifier(options.valueColumn ?? 'value', 'valueColumn')
  const version = identifier(options.versionColumn ?? 'version', 'versionColumn')
  if (new Set([key, value, version]).size !== 3) {
    throw new InvalidOptionError('[cachekit/patterns] the key, value and version columns must differ')
  }
  const valueType = options.valueType ?? 'jsonb'
  if (!VALUE_TYPES.has(valueType)) {
    throw new InvalidOptionError("[cachekit/patterns] `valueType` must be 'jsonb', 'json' or 'text'")
  }
  if (options.toColumn !== undefined && typeof options.toColumn !== 'function') {
    throw new InvalidOptionError('[cachekit/patterns] `toColumn` must be a function')
  }
  const toColumn = options.toColumn ?? ((v: V) => JSON.stringify(v) ?? null)
  const upsert =
    `INSERT INTO ${table} AS t (${key}, ${value}, ${version}) ` +
    `SELECT * FROM unnest($1::text[], $2::${valueType}[], $3::numeric[]) ` +
    `ON CONFLICT (${key}) DO UPDATE SET ${value} = excluded.${value}, ${version} = excluded.${version} ` +
    `WHERE t.${version} < excluded.${version}`
  const create =
    `CREATE TABLE IF NOT EXISTS ${table} (${key} text PRIMARY KEY, ${value} ${valueType}, ` +
    `${version} numeric NOT NULL, updated_at timestamptz NOT NULL DEFAULT now())`

  return {
    table,
    async createTable() {
      await client.query(create)
    },
    async writeBatch(records: readonly WriteBehindRecord<V>[]) {
      if (records.length === 0) return
      // One row per key: ON CONFLICT cannot touch a row twice in one statement.
      const latest = new Map<string, WriteBehindRecord<V>>()
      for (const record of records) {
        const seen = latest.get(record.key)
        if (!seen || compareVersions(seen.version, record.version) < 0) latest.set(record.key, record)
      }
      const rows = [...latest.values()]
      await client.query(upsert, [
        rows.map((row) => row.key),
        rows.map((row) => toColumn(row.value)),
        rows.map((row) => versionToDecimal(row.version)),
      ])
    },
  }
}

/** A double-quoted identifier, after checking it is a plain one (quoting alone is not the guard). */
function identifier(name: unknown, option: string): string {
  if (typeof name !== 'string' || !IDENTIFIER.test(name)) {
    throw new InvalidOptionError(
      `[cachekit/patterns] \`${option}\` must be letters, digits and _ (not starting with a digit), at most 63 characters`,
    )
  }
  return `"${name}"`
}

function qualifiedName(name: unknown): string {
  if (typeof name !== 'string') {
    throw new InvalidOptionError('[cachekit/patterns] `table` must be a string')
  }
  const parts = name.split('.')
  if (parts.length > 2) {
    throw new InvalidOptionError('[cachekit/patterns] `table` must be `name` or `schema.name`')
  }
  return parts.map((part) => identifier(part, 'table')).join('.')
}
