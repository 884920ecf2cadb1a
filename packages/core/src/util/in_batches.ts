/**
 * Groups what an async iterable (a store's `scan`) yields into arrays of at most `size`, so a walk of
 * a large keyspace reads and deletes in bounded steps. Leaving the loop early closes the scan.
 */
export async function* inBatches<T>(items: AsyncIterable<T>, size: number): AsyncGenerator<T[]> {
  let batch: T[] = []
  for await (const item of items) {
    batch.push(item)
    if (batch.length >= size) {
      yield batch
      batch = []
    }
  }
  if (batch.length > 0) yield batch
}
