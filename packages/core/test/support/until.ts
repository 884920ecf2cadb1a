import { performance } from 'node:perf_hooks'

/**
 * Polls `check` every few ms until it holds; resolves false once `limitMs` have passed without it.
 * Measured with `performance.now()`, so it stays bounded in tests that hold `Date.now()` still
 * (see `controlDate`). The limit is a bound on a hang, never a claim about speed: keep it generous.
 */
export async function until(check: () => boolean | Promise<boolean>, limitMs = 5_000): Promise<boolean> {
  const deadline = performance.now() + limitMs
  while (performance.now() < deadline) {
    if (await check()) return true
    await new Promise((resolve) => setTimeout(resolve, 5))
  }
  return check()
}
