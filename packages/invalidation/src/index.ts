export { invalidate } from './invalidate.js'
export { invalidates, type MutationTargets } from './invalidates.js'
export {
  type AnyTargetsFunction,
  Invalidates,
  type InvalidatesDecorator,
  type InvalidatesTargetsMismatch,
} from './invalidates_decorator.js'
export type {
  InvalidatableCache,
  InvalidateOptions,
  InvalidationSummary,
  InvalidationTargets,
} from './targets.js'
