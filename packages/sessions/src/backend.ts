import type { SessionKeys } from './keys.js'

/** A field of a session as stored: its name (`~m`, `d:<name>`) and encoded bytes. */
export type StoredField = readonly [name: string, bytes: Uint8Array]

/** What `create` is told besides the session's fields. */
export interface CreateOptions {
  ttlMs: number
  /** Absolute timeout in ms from creation; 0 for none. */
  absoluteMs: number
  /** 0 for no limit. */
  maxPerUser: number
  onLimit: 'evict-oldest' | 'refuse'
}

export type CreateResult =
  | { readonly status: 'ok'; readonly expiresAt: number; readonly evicted: readonly string[] }
  | { readonly status: 'limit' }

/** Why a session could not be read or written: it was destroyed, it expired, or it never was. */
export type Gone = { readonly status: 'destroyed' } | { readonly status: 'missing' }

/** A session as stored: its expiry, version and encoded fields (`~v` and `~a` included). */
export interface Found {
  readonly status: 'ok'
  readonly expiresAt: number
  readonly version: number
  readonly fields: Map<string, Uint8Array>
}

export type ReadResult = Found | { readonly status: 'expired' } | Gone

/** The session after the write, or why there was none. */
export type PatchResult = Found | { readonly status: 'conflict' } | Gone

export type TouchResult = { readonly status: 'ok'; readonly expiresAt: number } | Gone

export type RegenerateResult =
  | { readonly status: 'ok'; readonly expiresAt: number }
  | { readonly status: 'conflict' }
  | Gone

/** A live session as the user's index lists it. */
export interface Listed {
  readonly random: string
  readonly expiresAt: number
  readonly meta: Uint8Array
}

/**
 * Where sessions are kept: Redis (every operation one atomic script on the user's slot) or memory
 * (the same contract in one process, for development and tests). Values arrive encoded; a backend
 * never sees session data in clear.
 */
export interface SessionBackend {
  readonly name: string
  create(
    keys: SessionKeys,
    random: string,
    fields: readonly StoredField[],
    options: CreateOptions,
  ): Promise<CreateResult>
  read(keys: SessionKeys, random: string, slide: boolean, ttlMs: number): Promise<ReadResult>
  /** Sets and deletes fields; with `expectedVersion`, only if the session is still at that version. */
  patch(
    keys: SessionKeys,
    expectedVersion: number | undefined,
    set: readonly StoredField[],
    remove: readonly string[],
  ): Promise<PatchResult>
  touch(keys: SessionKeys, random: string, ttlMs: number): Promise<TouchResult>
  /** Destroys sessions of one user slot (leaving tombstones); resolves with the randoms that existed. */
  destroy(base: string, index: string, randoms: readonly string[], ttlMs: number): Promise<string[]>
  regenerate(
    from: SessionKeys,
    to: SessionKeys,
    fromRandom: string,
    toRandom: string,
    expectedVersion: number,
    ttlMs: number,
    fields: readonly StoredField[],
  ): Promise<RegenerateResult>
  list(base: string, index: string): Promise<Listed[]>
  /** Live sessions of the whole store. */
  count(): Promise<number>
  /** Keeps the store-wide count in step (a separate key from the user's slot; see keys.ts). */
  counted(keys: SessionKeys, random: string, expiresAt: number | undefined): Promise<void>
  close(): Promise<void>
}
