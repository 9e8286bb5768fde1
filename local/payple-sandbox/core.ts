/**
 * The sandbox's shared state and settings, handed to every operation. One instance per running
 * sandbox; nothing here is module-global, so tests can run many sandboxes side by side.
 */
import type { Clock } from './clock.ts';
import type { PayType } from './codes.ts';
import { Faults } from './faults.ts';
import type { PayerFields } from './ledger.ts';
import { Ledger, LookupLimiter } from './ledger.ts';
import { DEFAULT_SLOW_DELAY_MS } from './test-cards.ts';
import { TokenStore } from './tokens.ts';
import { Webhooks } from './webhooks.ts';

/** A Payple partner (가맹점) the sandbox accepts. */
export interface SandboxPartner {
  readonly cstId: string;
  readonly custKey: string;
  /** PCD_REFUND_KEY required by cancel / refund calls. */
  readonly refundKey: string;
  /**
   * Hostnames accepted in the Referer of server calls: exact (`shop.example.com`), a wildcard
   * subdomain (`*.example.com`) or `*` for any. Default: `localhost` and `127.0.0.1`, any port.
   */
  readonly refererHosts?: readonly string[];
}

/** Payple's shared test partner (PAYPLE.md), with the local hosts as registered Referer domains. */
export const defaultPartner: SandboxPartner = {
  cstId: 'test',
  custKey: 'abcd1234567890',
  refundKey: 'a41ce010ede9fcbfb3be86b24858806596a9db68b79d138b147c3e563e1829a0',
  refererHosts: ['localhost', '127.0.0.1'],
};

const DEFAULT_REFERER_HOSTS = ['localhost', '127.0.0.1'];

/** Whether a Referer hostname is registered for the partner. */
export function refererAllowed(partner: SandboxPartner, host: string | undefined): boolean {
  if (host === undefined) return false;
  return (partner.refererHosts ?? DEFAULT_REFERER_HOSTS).some(
    (pattern) =>
      pattern === '*' ||
      pattern.toLowerCase() === host.toLowerCase() ||
      (pattern.startsWith('*.') && host.toLowerCase().endsWith(pattern.slice(1).toLowerCase())),
  );
}

/** A payment window opened with a window AuthKey, waiting for the customer. */
export interface WindowSession {
  readonly id: string;
  readonly cstId: string;
  readonly payType: PayType;
  readonly work: 'AUTH' | 'PAY' | 'CERT';
  readonly cardVer: string;
  readonly goods: string;
  readonly total: number | undefined;
  readonly oid: string | undefined;
  readonly rstUrl: string;
  readonly payer: PayerFields;
  readonly isTax: string;
  readonly taxTotal: string;
  readonly createdAt: number;
  done: boolean;
}

/** A CERT payment waiting for the partner's confirm at PCD_PAY_COFURL. */
export interface PendingCert {
  readonly reqKey: string;
  readonly authKey: string;
  readonly cstId: string;
  readonly payerId: string;
  readonly session: WindowSession;
  readonly oid: string;
  readonly createdAt: number;
  confirmed: boolean;
}

/** Thrown into pending work when the sandbox stops. */
export class SandboxStoppedError extends Error {
  constructor() {
    super('the Payple sandbox stopped');
  }
}

export interface CoreOptions {
  readonly clock: Clock;
  readonly partners: readonly SandboxPartner[];
  readonly webhookUrl: string | undefined;
  readonly lookupLimit: { readonly max: number; readonly windowMs: number };
  readonly slowDelayMs: number | undefined;
}

export class SandboxCore {
  /** Base URL, known once the server listens. */
  url = '';
  readonly clock: Clock;
  readonly partners: ReadonlyMap<string, SandboxPartner>;
  readonly tokens: TokenStore;
  readonly ledger = new Ledger();
  readonly lookups: LookupLimiter;
  readonly faults = new Faults();
  readonly webhooks: Webhooks;
  readonly windows = new Map<string, WindowSession>();
  readonly certs = new Map<string, PendingCert>();
  /** How long the `slow` test card takes to answer. */
  slowDelayMs: number;
  readonly #stop = new AbortController();

  constructor(options: CoreOptions) {
    this.clock = options.clock;
    this.partners = new Map(options.partners.map((partner) => [partner.cstId, partner]));
    this.tokens = new TokenStore(options.clock);
    this.lookups = new LookupLimiter(options.lookupLimit.max, options.lookupLimit.windowMs);
    this.webhooks = new Webhooks(this.faults, options.clock, options.webhookUrl);
    this.slowDelayMs = options.slowDelayMs ?? DEFAULT_SLOW_DELAY_MS;
  }

  get stopSignal(): AbortSignal {
    return this.#stop.signal;
  }

  /**
   * Waits real time (latency faults, the slow card). Time-dependent rules read the injected clock
   * instead; this only spaces events out. Rejects with SandboxStoppedError when the sandbox stops.
   */
  pause(ms: number): Promise<void> {
    const signal = this.#stop.signal;
    if (signal.aborted) return Promise.reject(new SandboxStoppedError());
    if (ms <= 0) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const onAbort = (): void => {
        clearTimeout(timer);
        reject(new SandboxStoppedError());
      };
      const timer = setTimeout(() => {
        signal.removeEventListener('abort', onAbort);
        resolve();
      }, ms);
      signal.addEventListener('abort', onAbort, { once: true });
    });
  }

  /** The partner behind a presented AuthKey, if any (to check its Referer before the token). */
  partnerOfAuthKey(authKey: unknown): SandboxPartner | undefined {
    if (typeof authKey !== 'string') return undefined;
    const token = this.tokens.peek(authKey);
    return token && this.partners.get(token.cstId);
  }

  /** Whether the Referer is registered for the partner or, when unknown, for any partner. */
  refererOk(partner: SandboxPartner | undefined, host: string | undefined): boolean {
    if (partner) return refererAllowed(partner, host);
    return [...this.partners.values()].some((candidate) => refererAllowed(candidate, host));
  }

  /** Forgets every key, payment, token, window, fault, webhook and lookup; keeps configuration. */
  reset(): void {
    this.ledger.clear();
    this.tokens.clear();
    this.lookups.clear();
    this.faults.clear();
    this.webhooks.clear();
    this.windows.clear();
    this.certs.clear();
  }

  async stop(): Promise<void> {
    this.#stop.abort();
    await this.webhooks.stop();
  }
}
