import type { BusHandler, BusMessage } from '@cachekit/core'

/** Handlers by the `type` of a payload that is a discriminated union, each given its own variant. */
export type Routes<T extends { readonly type: string }> = {
  readonly [K in T['type']]?: BusHandler<Extract<T, { readonly type: K }>>
}

/**
 * Builds one handler that dispatches on `payload.type`, for channels that carry several kinds of
 * message. Messages without a route (or whose payload has no string `type`) go to `otherwise`, if given.
 *
 * @example
 * type OrderEvent = { type: 'created'; id: string; total: number } | { type: 'cancelled'; id: string }
 * await bus.subscribe<OrderEvent>('orders', route<OrderEvent>({
 *   created: ({ payload }) => invoice(payload.id, payload.total),
 *   cancelled: ({ payload }) => refund(payload.id),
 * }))
 */
export function route<T extends { readonly type: string }>(
  routes: Routes<T>,
  otherwise?: BusHandler<T>,
): BusHandler<T> {
  return (message: BusMessage<T>) => {
    const type = (message.payload as { type?: unknown } | null | undefined)?.type
    const handler =
      typeof type === 'string' && Object.hasOwn(routes, type)
        ? (routes as Record<string, BusHandler<T> | undefined>)[type]
        : undefined
    if (handler) return handler(message)
    return otherwise?.(message)
  }
}
