/**
 * @cachekit/sessions: sessions on Redis that are safe under races, tampering and outages, and a
 * token deny-list.
 */
export { SessionConflictError, SessionLimitError } from './errors.js'
export type { SessionEventMap, SessionEventName, SessionListener } from './events.js'
export type { SessionsOptions } from './options.js'
export {
  createSessions,
  type RequestContext,
  type Session,
  type SessionData,
  type SessionInfo,
  type Sessions,
  type SessionUpdate,
} from './sessions.js'
export {
  type TokenClaims,
  type TokenRevocations,
  type TokenRevocationsOptions,
  tokenRevocations,
} from './token_revocations.js'
