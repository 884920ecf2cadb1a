import { randomBytes } from 'node:crypto'
import { PGlite } from '@electric-sql/pglite'
import { PGLiteSocketServer } from '@electric-sql/pglite-socket'

/** A Postgres to test against, as a `pg` connection string. */
export interface TestPostgres {
  readonly url: string
  /** `'DATABASE_URL'` or `'pglite'`: which one this is, for test names and messages. */
  readonly kind: 'DATABASE_URL' | 'pglite'
  /** Stops the PGlite server this file started (nothing for DATABASE_URL). */
  close(): Promise<void>
}

/**
 * `DATABASE_URL` when set (CI and the dev machines run a Postgres); otherwise PGlite served over the
 * Postgres protocol on a free port of this process, so a fresh machine needs nothing installed.
 */
export async function startPostgres(): Promise<TestPostgres> {
  const url = process.env.DATABASE_URL
  if (url) return { url, kind: 'DATABASE_URL', close: async () => undefined }
  const db = await PGlite.create()
  // PGlite runs one query at a time; the server multiplexes connections onto it.
  const server = new PGLiteSocketServer({ db, host: '127.0.0.1', port: 0, maxConnections: 16 })
  await server.start()
  const address = server.getServerConn()
  return {
    url: `postgres://postgres@${address}/postgres`,
    kind: 'pglite',
    async close() {
      await server.stop()
      await db.close()
    },
  }
}

/** A table name of its own for a test file, so files sharing a Postgres never meet. */
export function uniqueTable(prefix: string): string {
  return `${prefix}_${randomBytes(5).toString('hex')}`
}
