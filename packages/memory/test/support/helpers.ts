export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

export const bytes = (length: number, fill = 0) => new Uint8Array(length).fill(fill)

export async function collect(iterable: AsyncIterable<string>): Promise<string[]> {
  const keys: string[] = []
  for await (const key of iterable) keys.push(key)
  return keys
}

/** Resolves with what `promise` rejected with; fails if it resolved. */
export async function rejection(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => {
      throw new Error('expected a rejection')
    },
    (error: unknown) => error,
  )
}
