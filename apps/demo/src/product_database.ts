/** A product row of the demo's source of truth. */
export interface Product {
  id: number
  name: string
  priceCents: number
  updatedAt: string
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/**
 * The demo's "database": rows in memory behind an artificial delay, standing in for the slow query
 * a cache exists to avoid. It counts its queries so the demo can show how few reach it.
 */
export class ProductDatabase {
  queries = 0
  private readonly rows = new Map<number, Product>()

  constructor(private readonly latencyMs: number) {
    const names = [
      'Espresso machine',
      'Burr grinder',
      'Milk jug',
      'Tamper',
      'Scale',
      'Kettle',
      'Dripper',
      'Filter',
    ]
    for (const [index, name] of names.entries()) {
      const id = index + 1
      this.rows.set(id, { id, name, priceCents: 1_000 * id + 99, updatedAt: new Date(0).toISOString() })
    }
  }

  async findProduct(id: number): Promise<Product | undefined> {
    this.queries++
    await sleep(this.latencyMs)
    const row = this.rows.get(id)
    return row && { ...row }
  }

  async updatePrice(id: number, priceCents: number): Promise<Product | undefined> {
    this.queries++
    await sleep(this.latencyMs)
    const row = this.rows.get(id)
    if (!row) return undefined
    row.priceCents = priceCents
    row.updatedAt = new Date().toISOString()
    return { ...row }
  }

  ids(): number[] {
    return [...this.rows.keys()]
  }
}
