/**
 * Helpers for running the Payple client against the project's Payple sandbox: a started sandbox
 * with a hand-moved clock, a client pointed at it, a fetch that records every exchange, and the
 * browser's part of the window flow done with plain HTTP.
 */
import { expect } from 'vitest';
import {
  PaypleClient,
  kstDate,
  type FailureKind,
  type PaypleClientConfig,
  type PaypleOutcome,
  type PaypleSuccess,
} from '../../functions/payple/index.ts';
import {
  defaultPartner,
  startPaypleSandbox,
  type PaypleSandboxOptions,
  type RunningPaypleSandbox,
} from '../../local/payple-sandbox/index.ts';
import { captureLogs, manualClock, type CapturedLogs } from './fake-payple.ts';

export const REFERER = 'http://localhost:3000';

export interface Exchange {
  readonly url: string;
  readonly path: string;
  readonly headers: Headers;
  readonly body: Record<string, unknown>;
}

/** Wraps a fetch and records every request it makes. */
export function recordingFetch(inner: typeof globalThis.fetch = globalThis.fetch) {
  const exchanges: Exchange[] = [];
  const fetch: typeof globalThis.fetch = (input, init) => {
    const url = input instanceof Request ? input.url : input.toString();
    exchanges.push({
      url,
      path: new URL(url).pathname,
      headers: new Headers(init?.headers),
      body: JSON.parse(init?.body as string) as Record<string, unknown>,
    });
    return inner(input, init);
  };
  const to = (path: string) => exchanges.filter((exchange) => exchange.path === path);
  return { fetch, exchanges, to };
}

export interface SandboxWorld {
  readonly sandbox: RunningPaypleSandbox;
  readonly clock: ReturnType<typeof manualClock>;
  readonly logs: CapturedLogs;
  readonly recorder: ReturnType<typeof recordingFetch>;
  readonly client: PaypleClient;
  /** Another client on the same sandbox, clock and logs. */
  clientWith(overrides: Partial<PaypleClientConfig>): PaypleClient;
  /** Today's KST date on the shared clock. */
  today(): string;
}

/** 10:00 KST on a weekday, away from the banks' night window. */
export const START = Date.UTC(2025, 0, 6, 1, 0, 0);

export async function startWorld(options: PaypleSandboxOptions = {}): Promise<SandboxWorld> {
  const clock = manualClock(START);
  const sandbox = await startPaypleSandbox({ clock, slowDelayMs: 1_000, ...options });
  const logs = captureLogs();
  const recorder = recordingFetch();
  const clientWith = (overrides: Partial<PaypleClientConfig>) =>
    new PaypleClient({
      host: sandbox.url,
      cstId: defaultPartner.cstId,
      custKey: defaultPartner.custKey,
      refundKey: defaultPartner.refundKey,
      referer: REFERER,
      clock,
      timeouts: { authMs: 2_000, chargeMs: 500, lookupMs: 2_000 },
      logger: logs.logger,
      fetch: recorder.fetch,
      ...overrides,
    });
  return {
    sandbox,
    clock,
    logs,
    recorder,
    client: clientWith({}),
    clientWith,
    today: () => kstDate(clock.now()),
  };
}

/** Narrows an outcome to a success, failing the test with the outcome otherwise. */
export function expectSuccess<T, K extends FailureKind>(outcome: PaypleOutcome<T, K>): PaypleSuccess<T> {
  expect(outcome.kind, JSON.stringify(outcome)).toBe('success');
  return outcome as PaypleSuccess<T>;
}

function unescapeHtml(text: string): string {
  return text
    .replaceAll('&quot;', '"')
    .replaceAll('&#39;', "'")
    .replaceAll('&lt;', '<')
    .replaceAll('&gt;', '>')
    .replaceAll('&amp;', '&');
}

const form = (fields: Record<string, string>): RequestInit => ({
  method: 'POST',
  headers: { 'Content-Type': 'application/x-www-form-urlencoded', Referer: `${REFERER}/checkout` },
  body: new URLSearchParams(fields),
});

/**
 * The browser's part of a CERT payment: opens the window with a fresh window auth, enters the
 * card number, and returns the fields the window would post to PCD_RST_URL.
 */
export async function certWindow(
  world: SandboxWorld,
  payment: { readonly oid: string; readonly amount: number; readonly cardNumber: string },
): Promise<Record<string, string>> {
  const auth = expectSuccess(await world.client.createWindowAuth());
  const opened = await fetch(
    auth.value.payUrl,
    form({
      PCD_PAY_TYPE: 'card',
      PCD_PAY_WORK: 'CERT',
      PCD_CARD_VER: '01',
      PCD_PAY_GOODS: 'Monthly plan',
      PCD_PAY_TOTAL: String(payment.amount),
      PCD_PAY_OID: payment.oid,
      PCD_RST_URL: `${REFERER}/return/session-1`,
      PCD_AUTH_KEY: auth.value.authKey,
    }),
  );
  const session = /name="session" value="([^"]+)"/.exec(await opened.text())?.[1];
  expect(session).toBeDefined();
  const submitted = await fetch(
    `${world.sandbox.url}/window/submit`,
    form({ session: session ?? '', number: payment.cardNumber, action: 'submit' }),
  );
  const html = await submitted.text();
  return Object.fromEntries(
    [...html.matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)">/g)].map((match) => [
      unescapeHtml(match[1] ?? ''),
      unescapeHtml(match[2] ?? ''),
    ]),
  );
}
