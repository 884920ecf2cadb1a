import type { RawDecision } from './result.js'

/** `l`: count the request if every rule allows it; `p`: only look; `r`: give a cost back. */
export type DecideMode = 'l' | 'p' | 'r'

/** Where decisions are made: the Redis script, or one process's memory. Same algorithms, same replies. */
export interface Decider {
  decide(key: string, mode: DecideMode, cost: number): Promise<RawDecision>
  /** Denies every request of `key` for `ms`. */
  block(key: string, ms: number): Promise<void>
  /** Forgets `key`: every rule's state and any block. */
  reset(key: string): Promise<void>
  close(): Promise<void>
}
