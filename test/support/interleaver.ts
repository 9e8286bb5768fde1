/**
 * A deterministic scheduler for concurrent workers that share DynamoDB and Payple: each worker calls
 * `step()` before every I/O call, and exactly one worker runs from one step to its next, in an
 * order a property test chooses. Every read and write of the store is atomic, so interleaving whole
 * calls covers every race the real system can have, and a failing order replays exactly.
 */
export class Interleaver {
  readonly #waiting = new Map<number, () => void>();
  readonly #running = new Set<number>();
  readonly #finished = new Set<number>();
  #wake: (() => void) | undefined;
  /** Worker ids in the order they were let through, for a failure's report. */
  readonly trace: number[] = [];

  /** Parks worker `id` until the scheduler lets it take its next I/O step. */
  step(id: number): Promise<void> {
    return new Promise((resume) => {
      this.#waiting.set(id, resume);
      this.#running.delete(id);
      this.#notify();
    });
  }

  /** Whether worker `id` ran to its end (returned or threw). */
  finished(id: number): boolean {
    return this.#finished.has(id);
  }

  /**
   * Starts every worker, then repeatedly lets one parked worker through, the `pick(n)`-th of the
   * `n` parked ones by id, until all have finished. Resolves with each worker's outcome.
   */
  async run(
    workers: readonly ((id: number) => Promise<void>)[],
    pick: (parked: number) => number,
  ): Promise<PromiseSettledResult<void>[]> {
    const outcomes = workers.map(async (work, id) => {
      this.#running.add(id);
      try {
        await work(id);
      } finally {
        this.#running.delete(id);
        this.#finished.add(id);
        this.#notify();
      }
    });
    for (;;) {
      await this.#quiet();
      const parked = [...this.#waiting.keys()].sort((a, b) => a - b);
      if (parked.length === 0) break;
      const id = parked[pick(parked.length) % parked.length]!;
      const resume = this.#waiting.get(id)!;
      this.#waiting.delete(id);
      this.#running.add(id);
      this.trace.push(id);
      resume();
    }
    return Promise.allSettled(outcomes);
  }

  /** Resolves once no worker is running: each is parked at a step or finished. */
  #quiet(): Promise<void> {
    return new Promise((resolve) => {
      const check = (): void => {
        if (this.#running.size > 0) return;
        this.#wake = undefined;
        resolve();
      };
      this.#wake = check;
      check();
    });
  }

  #notify(): void {
    this.#wake?.();
  }
}

/** A small seeded generator (mulberry32): the same seed picks the same interleaving. */
export function seededPicks(seed: number): (count: number) => number {
  let state = seed >>> 0;
  return (count) => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return Math.floor((((t ^ (t >>> 14)) >>> 0) / 4294967296) * count);
  };
}
