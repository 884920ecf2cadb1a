/** The wait before retry number `attempt` (1-based): doubling from `initialMs`, capped, half of it random. */
export function backoffDelay(
  attempt: number,
  initialMs: number,
  maxMs: number,
  random: () => number = Math.random,
): number {
  const ceiling = Math.min(maxMs, initialMs * 2 ** Math.min(attempt - 1, 30))
  return Math.round(ceiling / 2 + (random() * ceiling) / 2)
}
