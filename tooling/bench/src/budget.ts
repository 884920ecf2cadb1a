import type { RunOptions, Subject } from './timing.js'

/** How much each workload runs: the full run, or a quick smoke run of the same code. */
export interface Budget {
  quick: boolean
}

/** Scales a workload's run options down in quick mode (2 samples, a quarter of the ops). */
export function runOptions(budget: Budget, options: RunOptions): RunOptions {
  if (!budget.quick) return options
  return {
    ...options,
    samples: 2,
    ops: Math.ceil(options.ops / 4),
    warmupOps: Math.ceil(options.warmupOps / 4),
    latencyOps: Math.ceil(options.latencyOps / 4),
    maxMs: Math.ceil(options.maxMs / 2),
  }
}

export function scaled(budget: Budget, full: number, quick: number): number {
  return budget.quick ? quick : full
}

/**
 * Calls every subject once and checks it answers with a value, so a misconfigured library cannot
 * be measured serving misses (which are often faster than hits).
 */
export async function verify(
  subjects: readonly Subject[],
  isValid: (value: unknown) => boolean,
): Promise<void> {
  for (const subject of subjects) {
    const value = await subject.op(0)
    if (!isValid(value)) {
      throw new Error(`[bench] ${subject.name} did not return the expected value: ${JSON.stringify(value)}`)
    }
  }
}

/** A 1 KB object from the fixtures (it has a numeric `id`). */
export function isObject(value: unknown): boolean {
  return typeof value === 'object' && value !== null && typeof (value as { id?: unknown }).id === 'number'
}
