/**
 * What a test file opened (servers, sockets, exporters, agents), closed after its suite even when a test
 * failed: an open socket would keep the test process alive.
 */

/** Closers, run last registered first (exporters before the servers they send to). */
export class Cleanups {
  private readonly fns: (() => Promise<void>)[] = [];

  /** Registers closers. */
  push(...fns: (() => Promise<void>)[]): void {
    this.fns.push(...fns);
  }

  /** Runs and forgets every closer, last registered first; a failing closer does not stop the others. */
  async run(): Promise<void> {
    for (const c of this.fns.splice(0).reverse()) await c().catch(() => undefined);
  }
}
