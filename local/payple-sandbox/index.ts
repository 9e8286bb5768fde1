/**
 * The Payple sandbox: an in-memory HTTP simulator of Payple's billing-key API (PAYPLE.md), the
 * test double of every test and the default Payple of the local stack.
 *
 * ```ts
 * const payple = await startPaypleSandbox({ clock, webhookUrl });
 * const { PCD_PAYER_ID } = payple.admin.createBillingKey({ card: 'insufficientFunds' });
 * // point the client at payple.url (the "host"), charge, then read payple.admin.ledger()
 * await payple.stop();
 * ```
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createAdmin, type SandboxAdmin } from './admin.ts';
import { systemClock, type Clock } from './clock.ts';
import { defaultPartner, SandboxCore, type SandboxPartner } from './core.ts';
import type { LedgerSnapshot } from './ledger.ts';
import { SandboxServer } from './server.ts';

export type { Clock } from './clock.ts';
export type { SandboxPartner } from './core.ts';
export { defaultPartner } from './core.ts';
export type {
  SandboxAdmin,
  BillingKeyView,
  CreateBillingKeyInput,
  LookupUsage,
  SetInstrumentInput,
} from './admin.ts';
export type { LedgerEntry, LedgerSnapshot, RefundRecord, ChargeOrigin } from './ledger.ts';
export type { Fault, FaultKind, FaultSpec, Operation } from './faults.ts';
export type { WebhookDelivery, WebhookStatus } from './webhooks.ts';
export { adminRoutes } from './admin-http.ts';
export { testAccounts, testCards, DEFAULT_SLOW_DELAY_MS } from './test-cards.ts';
export type {
  TestInstrument,
  TestCardName,
  TestAccountName,
  TestOutcome,
  ExpectedClassification,
} from './test-cards.ts';

export interface PaypleSandboxOptions {
  /** 0 or undefined: a free port chosen by the OS. */
  port?: number;
  /** Listen host, default 127.0.0.1. */
  host?: string;
  /** Source of time for token expiry, the lookup window and KST dates; default Date.now. */
  clock?: Clock;
  /** Where result webhooks are POSTed (JSON); settable later with `admin.setWebhookUrl`. */
  webhookUrl?: string;
  /** Default: Payple's test partner `test` / `abcd1234567890`, Referer hosts localhost and 127.0.0.1. */
  partners?: SandboxPartner[];
  /** Result-lookup budget per partner; default 1,000 per 10 minutes (rolling). */
  lookupLimit?: { max: number; windowMs: number };
  /** How long the `slow` test card takes to answer; default 20 s. */
  slowDelayMs?: number;
}

export interface RunningPaypleSandbox {
  /** Base URL, e.g. http://127.0.0.1:PORT: what clients use as Payple's "host". */
  readonly url: string;
  readonly port: number;
  /** In-process handle to what the `/__sandbox/` HTTP API does. */
  readonly admin: SandboxAdmin;
  /** Billing keys and charges as JSON-safe data (what `npm start` keeps in its data folder). */
  snapshot(): LedgerSnapshot;
  /** Replaces every billing key and charge with a snapshot's; tokens, faults and the rest stay. */
  restore(snapshot: LedgerSnapshot): void;
  /** Closes the server, aborts hanging requests, cancels pending webhooks; never hangs. */
  stop(): Promise<void>;
}

function urlHost(host: string): string {
  if (host === '0.0.0.0' || host === '::') return '127.0.0.1';
  return host.includes(':') ? `[${host}]` : host;
}

function listen(server: Server, port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

/** Starts a sandbox on its own port with its own state. */
export async function startPaypleSandbox(options: PaypleSandboxOptions = {}): Promise<RunningPaypleSandbox> {
  const host = options.host ?? '127.0.0.1';
  const partners = options.partners ?? [defaultPartner];
  if (partners.length === 0) throw new Error('the Payple sandbox needs at least one partner');
  const core = new SandboxCore({
    clock: options.clock ?? systemClock,
    partners,
    webhookUrl: options.webhookUrl,
    lookupLimit: options.lookupLimit ?? { max: 1_000, windowMs: 10 * 60 * 1000 },
    slowDelayMs: options.slowDelayMs,
  });
  const admin = createAdmin(core);
  const handler = new SandboxServer(core, admin);
  const server = createServer(handler.listener);
  const port = await listen(server, options.port ?? 0, host);
  core.url = `http://${urlHost(host)}:${port}`;

  let stopping: Promise<void> | undefined;
  return {
    url: core.url,
    port,
    admin,
    snapshot: () => core.ledger.snapshot(),
    restore: (snapshot) => {
      core.ledger.restore(snapshot);
    },
    stop() {
      stopping ??= (async () => {
        const closed = new Promise<void>((resolve) =>
          server.close(() => {
            resolve();
          }),
        );
        // Abort waits first, so their handlers give up; then drop every socket, idle or held.
        const coreStopped = core.stop();
        handler.releaseHeld();
        server.closeAllConnections();
        await Promise.all([closed, coreStopped]);
      })();
      return stopping;
    },
  };
}
