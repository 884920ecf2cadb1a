/**
 * SLOT — tag invalidation over 1,000,000 keys. Not measured yet: it waits for the tags feature
 * (@cachekit/invalidation, `cache.invalidateTags`). When that lands, replace the body with:
 *
 * - write 1,000,000 keys spread over 1,000 tags (setMany in batches, every library alike);
 * - time `invalidateTags([tag])` (bentocache: `deleteByTag`), then a read of an invalidated key and
 *   of a live one, for cachekit and bentocache (cache-manager has no tags);
 * - report invalidation latency, the first read after it, and Redis memory/CPU of the clean-up.
 *
 * The row stays in every report, marked pending, so the gap is visible.
 */
import type { WorkloadResult } from '../report.js'

export function tagInvalidation(): WorkloadResult {
  return {
    id: 'tag-invalidation',
    title: 'Tag invalidation over 1,000,000 keys (pending)',
    setup: 'Reserved slot: measured once the tags feature lands (`cache.invalidateTags`).',
    table: {
      columns: ['library', 'status'],
      rows: [
        ['cachekit', 'pending: tags feature not implemented yet'],
        ['bentocache (deleteByTag)', 'pending'],
      ],
    },
    data: { pending: true },
    seconds: 0,
  }
}
