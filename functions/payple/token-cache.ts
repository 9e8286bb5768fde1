/**
 * Reuse of lookup tokens. Payple's PUSERINFO and PAYCHK tokens are valid 30 minutes and may serve
 * many sequential lookups (its result-lookup page asks for exactly that); the client reuses one for
 * at most 25 minutes. Charge, window, CERT, PUSERDEL and refund tokens are never cached: one auth,
 * one request.
 *
 * The cache is an interface so that a later store can share tokens between Lambda instances; the
 * default keeps them in the instance's memory (a client built at module scope keeps them across
 * warm invocations).
 */

/** The purposes whose tokens may be reused. Never mixed: each has its own auth flag. */
export type LookupPurpose = 'billing_key_info' | 'payment_lookup';

/** A token from partner auth. Secret: never logged. */
export interface LookupToken {
  /** The `cst_id` token auth returned (sent as `PCD_CST_ID`). */
  readonly cstId: string;
  /** The `custKey` token auth returned (sent as `PCD_CUST_KEY`). */
  readonly custKey: string;
  readonly authKey: string;
  /** Where the lookups go (`return_url`). */
  readonly returnUrl: string;
  /** Epoch ms after which the token must not be used. */
  readonly expiresAt: number;
}

export interface Clock {
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };

export interface LookupTokenCache {
  /** The purpose's token, or `undefined` when none is stored or it has expired. */
  get(purpose: LookupPurpose): Promise<LookupToken | undefined>;
  put(purpose: LookupPurpose, token: LookupToken): Promise<void>;
  /** Drops the purpose's token if it is still `authKey`'s (a newer one stays). */
  drop(purpose: LookupPurpose, authKey: string): Promise<void>;
}

/** How long a lookup token is reused: 5 minutes short of Payple's 30. */
export const LOOKUP_TOKEN_MAX_AGE_MS = 25 * 60 * 1000;

export class InMemoryLookupTokenCache implements LookupTokenCache {
  readonly #tokens = new Map<LookupPurpose, LookupToken>();
  readonly #clock: Clock;

  constructor(options: { readonly clock?: Clock } = {}) {
    this.#clock = options.clock ?? systemClock;
  }

  get(purpose: LookupPurpose): Promise<LookupToken | undefined> {
    const token = this.#tokens.get(purpose);
    if (token !== undefined && this.#clock.now() >= token.expiresAt) {
      this.#tokens.delete(purpose);
      return Promise.resolve(undefined);
    }
    return Promise.resolve(token);
  }

  put(purpose: LookupPurpose, token: LookupToken): Promise<void> {
    this.#tokens.set(purpose, token);
    return Promise.resolve();
  }

  drop(purpose: LookupPurpose, authKey: string): Promise<void> {
    if (this.#tokens.get(purpose)?.authKey === authKey) this.#tokens.delete(purpose);
    return Promise.resolve();
  }
}
