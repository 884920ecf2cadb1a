import type { CacheError } from '@cachekit/core'

/**
 * What a session manager reports. Ids in events are shortened to their first characters: events
 * end up in logs and metrics, and a full id is a credential.
 */
export interface SessionEventMap {
  created: { id: string }
  destroyed: { id: string; reason: 'destroy' | 'destroyAll' | 'evicted' | 'regenerated' }
  /** A read found a session that had expired. */
  expired: { id: string }
  /** A functional update or a regenerate gave up after `attempts` lost compare-and-sets. */
  conflict: { id: string; attempts: number }
  /** Stored bytes did not decode: flipped, truncated, copied from another session or field. */
  tamper: { id: string; error: CacheError }
  /** The request's IP or user agent is not the one the session was bound to. */
  'bind-mismatch': { id: string; binding: 'ip' | 'userAgent' }
  /** A write to a session that is gone was refused: it stays gone (a logout is never undone). */
  refused: { id: string; operation: 'update' | 'touch' | 'regenerate'; reason: 'destroyed' | 'missing' }
  /** Keeping the store-wide count in step failed; the call itself succeeded. */
  error: { operation: string; error: CacheError }
}

export type SessionEventName = keyof SessionEventMap
export type SessionListener<E extends SessionEventName> = (payload: SessionEventMap[E]) => void

/** A small typed emitter: builds nothing when nobody listens; a throwing listener breaks no call. */
export class SessionEvents {
  private readonly listeners = new Map<SessionEventName, Array<SessionListener<SessionEventName>>>()

  on<E extends SessionEventName>(event: E, listener: SessionListener<E>): () => void {
    const list = this.listeners.get(event) ?? []
    list.push(listener as SessionListener<SessionEventName>)
    this.listeners.set(event, list)
    return () => {
      const index = list.indexOf(listener as SessionListener<SessionEventName>)
      if (index >= 0) list.splice(index, 1)
    }
  }

  emit<E extends SessionEventName>(event: E, payload: SessionEventMap[E]): void {
    for (const listener of [...(this.listeners.get(event) ?? [])]) {
      try {
        listener(payload)
      } catch {
        // A listener must not turn a session call into a failure.
      }
    }
  }
}
