/**
 * The checkout's use case: the customer picked a plan (or asked to replace a payment method) and
 * is about to open Payple's window. It records a single-use checkout session, then does the
 * window's partner auth and answers the parameters the browser hands to `PaypleCpayAuthCheck`.
 *
 * Everything the return flow (complete-checkout.ts) will trust later is decided here and stored in
 * the session: plan snapshot, amount, pay type, window work, the pre-assigned subscription id, the
 * first payment's OID and the redirect URLs. The browser gets a copy of some of it (the window
 * parameters) and may change that copy at will: the return flow never reads it back.
 */
import { randomBytes } from 'node:crypto';
import {
  claimAttempt,
  createSubscription,
  earliestChargeInstant,
  isInstantInBankMaintenanceWindow,
  isSubscriptionId,
  planOf,
  AMOUNT_LIMITS,
  type FirstPaymentMode,
  type PayType,
  type PlanInterval,
  type PlanOffer,
  type Subscription,
} from '../billing/index.ts';
import { PaypleTransportError, type WindowAuthOutcome } from '../payple/index.ts';

/**
 * The states of a checkout session. Every change is a conditional write on the current state, so a
 * replayed or concurrent return finds the session no longer `open` and changes nothing.
 *
 * ```
 * open ──▶ completing ──▶ completed | failed      (the return flow; completing is held by one request)
 * open ──▶ failed                                  (window auth failed, or a return came after expiry)
 * ```
 */
export type CheckoutSessionStatus = 'open' | 'completing' | 'completed' | 'failed';

/** What Payple's window does: register only, register and pay, register and wait for our confirm. */
export type WindowWork = 'AUTH' | 'PAY' | 'CERT';

const WINDOW_WORK: Readonly<Record<FirstPaymentMode, WindowWork>> = {
  registration_only: 'AUTH',
  pay_now: 'PAY',
  pay_after_confirm: 'CERT',
};

/** How long a session may be used: Payple's window AuthKey lives 30 minutes after the auth. */
const SESSION_TTL_MS = 30 * 60_000;
/**
 * A return is still accepted this long after the session expired: the AuthKey is minted just after
 * the session, so a window paid in its 30th minute posts its result a moment after the session's.
 */
export const RETURN_GRACE_MS = 2 * 60_000;
/** A finished session is kept this long after it expired (replays still find it), then TTL-deleted. */
export const SESSION_RETENTION_MS = 24 * 3600_000;

/** The billing key of a subscription drafted at checkout only to compute the first OID. */
const DRAFT_BILLING_KEY = 'not-registered-yet';

export interface SessionCustomer {
  readonly id: string;
  /** PII. */
  readonly name: string;
  /** PII, digits only. */
  readonly phone?: string;
  /** PII. */
  readonly email?: string;
}

/** The plan as the session sold it (later catalog changes do not apply to this checkout). */
export interface SessionPlan {
  readonly id: string;
  readonly goodsName: string;
  /** Whole KRW per period. */
  readonly amount: number;
  readonly interval: PlanInterval;
  readonly firstPayment: FirstPaymentMode;
}

export interface CheckoutSession {
  /** 256 random bits, base64url: part of PCD_RST_URL. */
  readonly sessionId: string;
  readonly status: CheckoutSessionStatus;
  /** A new subscription, or a new billing key for an existing one. */
  readonly purpose: 'subscribe' | 'replace_payment_method';
  readonly createdAt: number;
  readonly expiresAt: number;
  readonly plan: SessionPlan;
  readonly payType: PayType;
  readonly work: WindowWork;
  /** Pre-assigned for a new subscription; the existing one for a replacement. */
  readonly subscriptionId: string;
  /** PAY and CERT: the first payment's OID, handed to the window as PCD_PAY_OID. */
  readonly firstPaymentOid?: string;
  /** Removed when the session finishes (the subscription keeps its own copy). */
  readonly customer?: SessionCustomer;
  readonly successUrl: string;
  readonly failureUrl: string;
  readonly finishedAt?: number;
  /** Why it ended (`completed`, `closed`, `key_not_active`, ...): safe to log. */
  readonly outcome?: string;
}

export type BeginCompletionResult =
  | { readonly ok: true; readonly session: CheckoutSession }
  /** Not open, expired, or unknown (`session` undefined). */
  | { readonly ok: false; readonly session: CheckoutSession | undefined };

/** The checkout sessions table. */
export interface CheckoutSessionStore {
  /** Stores a new session; throws `CheckoutSessionExistsError` if the id is taken. */
  create(session: CheckoutSession): Promise<void>;
  get(sessionId: string): Promise<CheckoutSession | undefined>;
  /** `open` → `completing`, only while `expiresAt >= acceptedExpiry`. */
  beginCompletion(sessionId: string, acceptedExpiry: number, now: number): Promise<BeginCompletionResult>;
  /** `from` → `completed | failed` with the outcome; removes the customer's data. False if not `from`. */
  finish(
    sessionId: string,
    from: 'open' | 'completing',
    to: 'completed' | 'failed',
    outcome: string,
    now: number,
  ): Promise<boolean>;
}

export class CheckoutSessionExistsError extends Error {
  constructor() {
    super('a checkout session with this id exists already');
    this.name = 'CheckoutSessionExistsError';
  }
}

/** Input of a checkout as the edge validated its shape (formats, lengths). */
export interface CheckoutRequest {
  readonly planId?: string;
  readonly payType: PayType;
  readonly customer: { readonly name: string; readonly phone?: string; readonly email?: string };
  readonly successUrl?: string;
  readonly failureUrl?: string;
  readonly replaceSubscriptionId?: string;
}

/** What the browser passes to `PaypleCpayAuthCheck`. */
export interface WindowParameters {
  readonly PCD_PAY_TYPE: PayType;
  readonly PCD_PAY_WORK: WindowWork;
  readonly PCD_CARD_VER?: '01';
  readonly PCD_PAY_GOODS?: string;
  readonly PCD_PAY_TOTAL?: string;
  readonly PCD_RST_URL: string;
  readonly PCD_AUTH_KEY: string;
  readonly PCD_PAY_URL: string;
  readonly PCD_PAY_OID?: string;
  readonly PCD_PAYER_NAME?: string;
  readonly PCD_PAYER_HP?: string;
  readonly PCD_PAYER_EMAIL?: string;
}

export type FieldErrors = Readonly<Record<string, readonly string[]>>;

export type StartCheckoutResult =
  | {
      readonly kind: 'created';
      readonly sessionId: string;
      readonly expiresAt: number;
      readonly window: WindowParameters;
    }
  | { readonly kind: 'invalid'; readonly fieldErrors: FieldErrors }
  /** Plans that pay at checkout are not sold around the banks' maintenance window (see README). */
  | { readonly kind: 'closed_for_maintenance'; readonly retryAt: number }
  /** Payple gave no usable answer to the window auth: try again. */
  | { readonly kind: 'payple_unavailable' }
  /** Payple refused the window auth (our configuration): an operator must look. */
  | { readonly kind: 'payple_refused'; readonly code: string | undefined };

export interface CheckoutDependencies {
  readonly plans: readonly PlanOffer[];
  readonly sessions: CheckoutSessionStore;
  readonly subscriptions: { getSubscription(id: string): Promise<Subscription | undefined> };
  readonly payple: { createWindowAuth(): Promise<WindowAuthOutcome> };
  /** Where the browser reaches this API, e.g. `https://pay.example.com` (no trailing slash). */
  readonly publicBaseUrl: string;
  /** Exact URLs a checkout may name as its success or failure page. */
  readonly redirects: RedirectPolicy;
  readonly now: () => number;
  /** 256 random bits, base64url; injectable for tests. */
  readonly newSessionId?: () => string;
  /** A subscription id (`[A-Za-z0-9]{1,40}`); injectable for tests. */
  readonly newSubscriptionId?: () => string;
}

/** The redirect allow-list and the defaults (always allowed). */
export interface RedirectPolicy {
  readonly defaultSuccessUrl: string;
  readonly defaultFailureUrl: string;
  /** Exact URLs, the defaults included. */
  readonly allowed: ReadonlySet<string>;
}

/** The result pages of this API, the default success and failure URLs. */
function resultPageUrl(publicBaseUrl: string, status: 'success' | 'failure'): string {
  return `${publicBaseUrl}/subscribe/result?status=${status}`;
}

export function redirectPolicy(publicBaseUrl: string, allowed: readonly string[]): RedirectPolicy {
  const defaultSuccessUrl = resultPageUrl(publicBaseUrl, 'success');
  const defaultFailureUrl = resultPageUrl(publicBaseUrl, 'failure');
  return {
    defaultSuccessUrl,
    defaultFailureUrl,
    allowed: new Set([defaultSuccessUrl, defaultFailureUrl, ...allowed]),
  };
}

const newSessionId = (): string => randomBytes(32).toString('base64url');
/** `sub` + 128 random bits in hex: unguessable, so the id works as the replace link's capability. */
export const newSubscriptionId = (): string => `sub${randomBytes(16).toString('hex')}`;
const newCustomerId = (): string => `cus${randomBytes(12).toString('hex')}`;
export const SESSION_ID_PATTERN = /^[A-Za-z0-9_-]{43}$/;

/** Whether a new subscription may be sold with this pay type (the plan offers it, Payple's limits). */
function payTypeProblem(amount: number, payType: PayType, offered: readonly PayType[]): string | undefined {
  if (!offered.includes(payType)) return 'this plan is not offered with this payment method';
  const { min, max } = AMOUNT_LIMITS[payType];
  if (amount < min || amount > max) return `this amount cannot be paid by ${payType}`;
  return undefined;
}

/** A subscription whose payment method may be replaced through the checkout. */
export function isReplaceable(sub: Subscription): boolean {
  if (sub.status === 'canceled') return false;
  return (
    sub.status === 'past_due' || sub.status === 'unpaid' || sub.paymentMethod.status === 'needs_replacement'
  );
}

/** The window must be paid and confirmed outside 23:30-00:30 KST and on the checkout's KST date. */
function maintenanceRetryAt(now: number): number | undefined {
  const lastReturn = now + SESSION_TTL_MS + RETURN_GRACE_MS;
  if (!isInstantInBankMaintenanceWindow(now) && !isInstantInBankMaintenanceWindow(lastReturn)) {
    return undefined;
  }
  return earliestChargeInstant(isInstantInBankMaintenanceWindow(now) ? now : lastReturn);
}

type Sale =
  | {
      readonly ok: true;
      readonly plan: SessionPlan;
      readonly purpose: CheckoutSession['purpose'];
      readonly subscriptionId: string;
    }
  | { readonly ok: false; readonly fieldErrors: Record<string, string[]> };

async function resolveSale(deps: CheckoutDependencies, request: CheckoutRequest): Promise<Sale> {
  const errors: Record<string, string[]> = {};
  const add = (field: string, message: string) => (errors[field] ??= []).push(message);

  if (request.replaceSubscriptionId !== undefined) {
    const id = request.replaceSubscriptionId;
    const sub = isSubscriptionId(id) ? await deps.subscriptions.getSubscription(id) : undefined;
    if (sub === undefined || !isReplaceable(sub)) {
      add('replaceSubscriptionId', 'no subscription waiting for a new payment method has this id');
      return { ok: false, fieldErrors: errors };
    }
    if (request.planId !== undefined && request.planId !== sub.plan.id) {
      add('planId', 'differs from the subscription’s plan');
    }
    const offer = deps.plans.find((plan) => plan.id === sub.plan.id);
    const problem = payTypeProblem(sub.plan.amount, request.payType, offer?.payTypes ?? ['card', 'transfer']);
    if (problem !== undefined) add('payType', problem);
    if (Object.keys(errors).length > 0) return { ok: false, fieldErrors: errors };
    return {
      ok: true,
      purpose: 'replace_payment_method',
      subscriptionId: sub.id,
      plan: { ...sub.plan, firstPayment: 'registration_only' },
    };
  }

  const offer = deps.plans.find((plan) => plan.id === request.planId);
  if (offer === undefined) {
    add('planId', request.planId === undefined ? 'required' : 'no such plan');
    return { ok: false, fieldErrors: errors };
  }
  const problem = payTypeProblem(offer.amount, request.payType, offer.payTypes);
  if (problem !== undefined) {
    add('payType', problem);
    return { ok: false, fieldErrors: errors };
  }
  return {
    ok: true,
    purpose: 'subscribe',
    subscriptionId: (deps.newSubscriptionId ?? newSubscriptionId)(),
    plan: { ...planOf(offer), firstPayment: offer.firstPayment },
  };
}

function redirectErrors(request: CheckoutRequest, policy: RedirectPolicy): Record<string, string[]> {
  const errors: Record<string, string[]> = {};
  for (const field of ['successUrl', 'failureUrl'] as const) {
    const url = request[field];
    if (url !== undefined && !policy.allowed.has(url)) errors[field] = ['not an allowed redirect URL'];
  }
  return errors;
}

/** The first payment's OID, as the domain will compute it when the return creates the subscription. */
function firstPaymentOid(
  subscriptionId: string,
  plan: SessionPlan,
  payType: PayType,
  customer: SessionCustomer,
  now: number,
): string {
  const draft = createSubscription(
    { id: subscriptionId, customer, plan, payType, billingKeyRef: DRAFT_BILLING_KEY },
    now,
  );
  return claimAttempt(draft.subscription, { period: 0, attempt: 1 }, now).charge.oid;
}

function windowParameters(
  session: CheckoutSession,
  rstUrl: string,
  authKey: string,
  payUrl: string,
): WindowParameters {
  const paying = session.work !== 'AUTH';
  const customer = session.customer;
  return {
    PCD_PAY_TYPE: session.payType,
    PCD_PAY_WORK: session.work,
    ...(session.payType === 'card' ? { PCD_CARD_VER: '01' as const } : {}),
    // Payple: goods and total only for PAY/CERT ("등록만 요청(AUTH)시에는 미입력").
    ...(paying ? { PCD_PAY_GOODS: session.plan.goodsName, PCD_PAY_TOTAL: String(session.plan.amount) } : {}),
    PCD_RST_URL: rstUrl,
    PCD_AUTH_KEY: authKey,
    PCD_PAY_URL: payUrl,
    ...(session.firstPaymentOid ? { PCD_PAY_OID: session.firstPaymentOid } : {}),
    ...(customer?.name ? { PCD_PAYER_NAME: customer.name } : {}),
    ...(customer?.phone ? { PCD_PAYER_HP: customer.phone } : {}),
    ...(customer?.email ? { PCD_PAYER_EMAIL: customer.email } : {}),
  };
}

/**
 * Validates the checkout against the catalog, the redirect allow-list and (for a replacement) the
 * subscription; records the session; does the window auth. Nothing is stored for a refused request.
 */
export async function startCheckout(
  deps: CheckoutDependencies,
  request: CheckoutRequest,
): Promise<StartCheckoutResult> {
  const sale = await resolveSale(deps, request);
  const fieldErrors = { ...redirectErrors(request, deps.redirects), ...(sale.ok ? {} : sale.fieldErrors) };
  if (!sale.ok || Object.keys(fieldErrors).length > 0) return { kind: 'invalid', fieldErrors };

  const now = deps.now();
  const work = WINDOW_WORK[sale.plan.firstPayment];
  if (work !== 'AUTH') {
    const retryAt = maintenanceRetryAt(now);
    if (retryAt !== undefined) return { kind: 'closed_for_maintenance', retryAt };
  }
  const customer: SessionCustomer = {
    id: newCustomerId(),
    name: request.customer.name,
    ...(request.customer.phone ? { phone: request.customer.phone } : {}),
    ...(request.customer.email ? { email: request.customer.email } : {}),
  };
  const session: CheckoutSession = {
    sessionId: (deps.newSessionId ?? newSessionId)(),
    status: 'open',
    purpose: sale.purpose,
    createdAt: now,
    expiresAt: now + SESSION_TTL_MS,
    plan: sale.plan,
    payType: request.payType,
    work,
    subscriptionId: sale.subscriptionId,
    ...(work === 'AUTH'
      ? {}
      : { firstPaymentOid: firstPaymentOid(sale.subscriptionId, sale.plan, request.payType, customer, now) }),
    customer,
    successUrl: request.successUrl ?? deps.redirects.defaultSuccessUrl,
    failureUrl: request.failureUrl ?? deps.redirects.defaultFailureUrl,
  };
  await deps.sessions.create(session);

  let auth: WindowAuthOutcome;
  try {
    auth = await deps.payple.createWindowAuth();
  } catch (error) {
    if (!(error instanceof PaypleTransportError)) throw error;
    await deps.sessions.finish(session.sessionId, 'open', 'failed', 'window_auth_unavailable', deps.now());
    return { kind: 'payple_unavailable' };
  }
  if (auth.kind !== 'success') {
    await deps.sessions.finish(session.sessionId, 'open', 'failed', 'window_auth_refused', deps.now());
    return auth.kind === 'unknown' || auth.kind === 'token_expired'
      ? { kind: 'payple_unavailable' }
      : { kind: 'payple_refused', code: auth.code };
  }
  const rstUrl = `${deps.publicBaseUrl}/return/${session.sessionId}`;
  return {
    kind: 'created',
    sessionId: session.sessionId,
    expiresAt: session.expiresAt,
    window: windowParameters(session, rstUrl, auth.value.authKey, auth.value.payUrl),
  };
}
