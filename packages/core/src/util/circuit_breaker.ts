/**
 * Stops the cache from waiting on a remote tier that keeps failing. After `failureThreshold`
 * consecutive failures it opens: callers skip the remote tier at once, and a background probe (on an
 * unref'd timer, so it never keeps the process alive) checks every `probeIntervalMs` whether the tier
 * is back. When a probe succeeds, `onRecover` runs (to replay what the outage left undone) and the
 * breaker closes, unless `isSettled` says new work arrived meanwhile; then it probes again at once.
 */
export interface CircuitBreakerOptions {
  failureThreshold: number
  probeIntervalMs: number
  probe: () => Promise<unknown>
  onOpen: (lastError: unknown) => void
  onRecover: () => Promise<void>
  /** Checked synchronously right before closing, so nothing can slip in between check and close. */
  isSettled: () => boolean
  onClose: (downtimeMs: number) => void
}

export class CircuitBreaker {
  private consecutiveFailures = 0
  private openedAt: number | undefined
  private probeTimer: NodeJS.Timeout | undefined
  private stopped = false

  constructor(private readonly options: CircuitBreakerOptions) {}

  /** True while the remote tier is skipped. */
  get isOpen(): boolean {
    return this.openedAt !== undefined
  }

  recordSuccess(): void {
    this.consecutiveFailures = 0
  }

  recordFailure(error: unknown): void {
    this.consecutiveFailures++
    if (this.isOpen || this.stopped || this.consecutiveFailures < this.options.failureThreshold) return
    this.openedAt = Date.now()
    this.options.onOpen(error)
    this.scheduleProbe()
  }

  /** Stops probing for good (the cache is closing). */
  stop(): void {
    this.stopped = true
    clearTimeout(this.probeTimer)
  }

  private scheduleProbe(): void {
    if (this.stopped) return
    this.probeTimer = setTimeout(() => void this.runProbe(), this.options.probeIntervalMs)
    this.probeTimer.unref()
  }

  private async runProbe(): Promise<void> {
    try {
      await this.options.probe()
      await this.options.onRecover()
    } catch {
      this.scheduleProbe()
      return
    }
    if (this.stopped || this.openedAt === undefined) return
    if (!this.options.isSettled()) {
      void this.runProbe()
      return
    }
    const downtimeMs = Date.now() - this.openedAt
    this.openedAt = undefined
    this.consecutiveFailures = 0
    this.options.onClose(downtimeMs)
  }
}
