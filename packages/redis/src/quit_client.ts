import type { Cluster, Redis } from 'ioredis'

/** Quits a client gracefully, or drops the connection when QUIT cannot be sent; never throws. */
export async function quitClient(client: Redis | Cluster): Promise<void> {
  if (client.status === 'end') return
  try {
    await client.quit()
  } catch {
    client.disconnect()
  }
}
