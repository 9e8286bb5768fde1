/** The sandbox's source of time. Token expiry, the lookup window and every KST date come from it. */
export interface Clock {
  /** Epoch milliseconds. */
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };
