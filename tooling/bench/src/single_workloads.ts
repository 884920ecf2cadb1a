/**
 * The workloads a single library can be run on alone, with the bench's own concurrency: for the
 * tools that look at one library at a time (profile.ts, cpu_per_op.ts).
 */
import type { Fixtures } from './fixtures.js'
import type { Subject } from './timing.js'
import { l1GetOrSetSubjects, l1GetSubjects } from './workloads/l1.js'
import { getManySubjects, l2GetSubjects, setSubjects, tieredGetSubjects } from './workloads/l2.js'

export const singleWorkloads: Record<
  string,
  { concurrency: number; subjects: (f: Fixtures) => Subject[] | { subjects: Subject[] } }
> = {
  'l1-get': { concurrency: 1, subjects: l1GetSubjects },
  'l1-get-or-set': { concurrency: 1, subjects: l1GetOrSetSubjects },
  'l2-get': { concurrency: 64, subjects: l2GetSubjects },
  'tiered-get': { concurrency: 64, subjects: tieredGetSubjects },
  'get-many': { concurrency: 8, subjects: getManySubjects },
  set: { concurrency: 64, subjects: setSubjects },
}
