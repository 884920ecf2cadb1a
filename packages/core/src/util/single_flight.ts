/**
 * Runs one task per key at a time in this process: callers that ask for a key while its task runs
 * share that task's promise, so 1,000 concurrent misses on a cold key cost one factory call.
 */
export class SingleFlight {
  private readonly flights = new Map<string, Promise<unknown>>()

  run<T>(key: string, task: () => Promise<T>): Promise<T> {
    const running = this.flights.get(key)
    if (running) return running as Promise<T>
    const flight = task().finally(() => this.flights.delete(key))
    this.flights.set(key, flight)
    return flight
  }

  get size(): number {
    return this.flights.size
  }
}
