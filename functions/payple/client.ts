/**
 * The Payple REST client that runs inside the Lambdas. Every operation is two steps: partner auth
 * with the operation's purpose flag at `{host}/php/auth.php`, then the operation posted to the
 * `return_url` auth returned (never a hard-coded path), carrying the returned tokens.
 *
 * Money rules kept here:
 * - One request per call. Nothing retries, least of all a charge; a refused token comes back as
 *   `token_expired` and the caller decides.
 * - Calls that move money (charge, CERT confirm, refund) never throw once something may have been
 *   sent: anything indefinite is an `unknown` outcome, never a decline.
 * - Calls that are safe to repeat (window auth, PUSERINFO, PUSERDEL, result lookup) throw a
 *   retryable `PaypleTransportError` when Payple gives no usable answer.
 * - Logs carry operation, OID, codes, outcome and duration only; messages from Payple are scrubbed
 *   of every secret the client knows.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import {
  parseAuthSuccess,
  parseBillingKeyInfo,
  parseDeletion,
  parseReceipt,
  parseRefund,
  type Parsed,
} from './answers.ts';
import {
  classifyAnswer,
  classifyAuthAnswer,
  type Classification,
  type ClassificationContext,
} from './classification.ts';
import {
  PaypleConfigurationError,
  PaypleConnectionError,
  PaypleHostNotAllowedError,
  PaypleHttpStatusError,
  PaypleInvalidAnswerError,
  PaypleTimeoutError,
  type PaypleTransportError,
} from './errors.ts';
import { authUrl, isAllowedTarget, parseBaseUrl } from './hosts.ts';
import { postJson, type FetchFunction } from './http.ts';
import {
  validateBillingKey,
  validateCharge,
  validateConfirm,
  validateLookup,
  validateRefund,
} from './inputs.ts';
import { redact, scrub } from './redaction.ts';
import {
  InMemoryLookupTokenCache,
  LOOKUP_TOKEN_MAX_AGE_MS,
  systemClock,
  type Clock,
  type LookupPurpose,
  type LookupTokenCache,
} from './token-cache.ts';
import type {
  BillingKeyDeleteOutcome,
  BillingKeyInfoOutcome,
  BillingKeyInput,
  CertConfirmInput,
  ChargeFailureKind,
  ChargeInput,
  ChargeOutcome,
  ClassificationReason,
  FailureKind,
  FailureStage,
  MonthGuard,
  PaymentLookupInput,
  PaymentLookupOutcome,
  PaypleFailure,
  PaypleOperation,
  PaypleOutcome,
  PaypleSuccess,
  RefundInput,
  RefundOutcome,
  WindowAuthOutcome,
} from './types.ts';

/** The structured logger the client writes to (Powertools' `Logger` fits). */
export interface PaypleLogger {
  info(message: string, attributes: Record<string, unknown>): void;
  warn(message: string, attributes: Record<string, unknown>): void;
  error(message: string, attributes: Record<string, unknown>): void;
}

export interface PaypleTimeouts {
  /** Partner auth. */
  readonly authMs: number;
  /** Charge, CERT confirm and refund: the calls that move money (an issuer hop can be slow). */
  readonly chargeMs: number;
  /** PUSERINFO, PUSERDEL and result lookups. */
  readonly lookupMs: number;
}

/** Payple publishes no timeout; integrators use 10-15 s for charges. */
export const defaultTimeouts: PaypleTimeouts = { authMs: 5_000, chargeMs: 15_000, lookupMs: 10_000 };

export interface PaypleClientConfig {
  /** Base URL: `paypleHosts.test`, `paypleHosts.live`, or the sandbox's URL. */
  readonly host: string;
  /** The partner's `cst_id`. */
  readonly cstId: string;
  /** The partner's `custKey`. Secret. */
  readonly custKey: string;
  /** The partner's registered domain, sent as `Referer` on every call (Payple refuses without). */
  readonly referer: string;
  /** `PCD_REFUND_KEY`, needed only for refunds. Secret. */
  readonly refundKey?: string;
  readonly timeouts?: Partial<PaypleTimeouts>;
  /** Defaults to the global `fetch`. */
  readonly fetch?: FetchFunction;
  /** Defaults to a Powertools `Logger`. */
  readonly logger?: PaypleLogger;
  /** Where lookup tokens are kept for reuse; defaults to this instance's memory. */
  readonly lookupTokenCache?: LookupTokenCache;
  /** Decides lookup-token age; defaults to the system clock. */
  readonly clock?: Clock;
}

/** The three values auth returns, and where the operation goes. Secret. */
interface SessionToken {
  readonly cstId: string;
  readonly custKey: string;
  readonly authKey: string;
  readonly returnUrl: string;
  readonly payHost?: string | undefined;
}

type AuthAttempt =
  | { readonly ok: true; readonly token: SessionToken }
  | {
      readonly ok: false;
      readonly failure: PaypleFailure;
      /** Set when Payple gave no usable answer (thrown by the idempotent calls). */
      readonly error: PaypleTransportError | undefined;
    };

/** One public call, for logs and scrubbing. */
interface Call {
  readonly operation: PaypleOperation;
  /** Money-moving calls return `unknown` instead of throwing. */
  readonly movesMoney: boolean;
  readonly oid: string | undefined;
  readonly startedAt: number;
  /** Values to scrub from Payple's messages besides the client's own keys. */
  readonly secrets: (string | undefined)[];
}

interface OperationRequest<T> {
  readonly token: SessionToken;
  /** Where to post; the token's `return_url` unless given (CERT confirm). */
  readonly url?: string;
  readonly body: Readonly<Record<string, string>>;
  readonly timeoutMs: number;
  readonly context: ClassificationContext;
  readonly parse: (answer: Readonly<Record<string, unknown>>) => Parsed<T>;
  /** The cache entry the token came from, dropped when Payple refuses it. */
  readonly cachedAs?: LookupPurpose;
}

const authFlags = {
  window: {},
  billing_key_info: { PCD_PAY_WORK: 'PUSERINFO' },
  billing_key_delete: { PCD_PAY_WORK: 'PUSERDEL' },
  payment_lookup: { PCD_PAYCHK_FLAG: 'Y' },
  refund: { PCD_PAYCANCEL_FLAG: 'Y' },
} as const satisfies Record<string, Readonly<Record<string, string>>>;

/** Declines are business as usual; a configuration error needs a person; anything unsure is a warning. */
const logLevels: Readonly<Record<string, 'info' | 'warn' | 'error'>> = {
  success: 'info',
  soft_decline: 'info',
  hard_decline: 'info',
  duplicate_oid: 'info',
  token_expired: 'info',
  config_error: 'error',
};

function reasonOf(error: PaypleTransportError): ClassificationReason {
  if (error instanceof PaypleTimeoutError) return 'timeout';
  if (error instanceof PaypleConnectionError) return 'connection_error';
  if (error instanceof PaypleHttpStatusError) return 'http_status';
  return 'invalid_answer';
}

function unknownFrom(error: PaypleTransportError, stage: FailureStage): PaypleFailure<'unknown'> {
  return {
    kind: 'unknown',
    stage,
    reason: reasonOf(error),
    code: undefined,
    issuerCode: undefined,
    message: undefined,
    cause: error,
  };
}

/** A charge never ends `lookup_limited`; the classifier already says `unknown` there. */
function asChargeFailure(failure: PaypleFailure): PaypleFailure<ChargeFailureKind> {
  return failure.kind === 'lookup_limited'
    ? { ...failure, kind: 'unknown' }
    : (failure as PaypleFailure<ChargeFailureKind>);
}

function isSuccess<T>(outcome: PaypleOutcome<T>): outcome is PaypleSuccess<T> {
  return outcome.kind === 'success';
}

function asChargeOutcome<T>(outcome: PaypleOutcome<T>): PaypleOutcome<T, ChargeFailureKind> {
  return outcome.kind === 'success' ? outcome : asChargeFailure(outcome);
}

function monthGuardFields(guard: MonthGuard | undefined): Record<string, string> {
  return guard === undefined
    ? {}
    : {
        PCD_REGULER_FLAG: 'Y',
        PCD_PAY_YEAR: String(guard.year),
        PCD_PAY_MONTH: String(guard.month).padStart(2, '0'),
      };
}

function optional(name: string, value: string | undefined): Record<string, string> {
  return value === undefined ? {} : { [name]: value };
}

export class PaypleClient {
  readonly #base: URL;
  readonly #host: string;
  readonly #cstId: string;
  readonly #custKey: string;
  readonly #referer: string;
  readonly #refundKey: string | undefined;
  readonly #timeouts: PaypleTimeouts;
  readonly #fetch: FetchFunction;
  readonly #logger: PaypleLogger;
  readonly #tokens: LookupTokenCache;
  readonly #clock: Clock;

  constructor(config: PaypleClientConfig) {
    const base = parseBaseUrl(config.host);
    if (base === undefined) throw new PaypleConfigurationError('Payple host must be an http(s) base URL');
    for (const [name, value] of [
      ['cstId', config.cstId],
      ['custKey', config.custKey],
      ['referer', config.referer],
    ] as const) {
      if (typeof value !== 'string' || value.trim() === '') {
        throw new PaypleConfigurationError(`Payple ${name} is missing`);
      }
    }
    const timeouts = { ...defaultTimeouts, ...config.timeouts };
    for (const [name, ms] of Object.entries(timeouts)) {
      if (!Number.isInteger(ms) || ms <= 0)
        throw new PaypleConfigurationError(`Payple timeout ${name} must be > 0`);
    }
    this.#base = base;
    this.#host = config.host;
    this.#cstId = config.cstId;
    this.#custKey = config.custKey;
    this.#referer = config.referer;
    this.#refundKey = config.refundKey;
    this.#timeouts = timeouts;
    this.#fetch = config.fetch ?? globalThis.fetch;
    this.#logger = config.logger ?? new Logger();
    this.#clock = config.clock ?? systemClock;
    this.#tokens = config.lookupTokenCache ?? new InMemoryLookupTokenCache({ clock: this.#clock });
  }

  /**
   * Charges a billing key once, with a fresh auth and our OID. With `monthGuard`, uses Payple's
   * month guard (`PCD_REGULER_FLAG`): a second charge on the key in that month is refused.
   * Throws only `PaypleInvalidRequestError`, before anything is sent.
   */
  async chargeBillingKey(input: ChargeInput): Promise<ChargeOutcome> {
    validateCharge(input);
    const call = this.#call('charge', true, input.oid, [
      input.billingKey,
      input.payerName,
      input.payerPhone,
      input.payerEmail,
    ]);
    const purpose: Readonly<Record<string, string>> =
      input.monthGuard === undefined
        ? { PCD_PAY_TYPE: input.payType, PCD_SIMPLE_FLAG: 'Y' }
        : { PCD_PAY_TYPE: input.payType, PCD_REGULER_FLAG: 'Y' };
    const auth = await this.#authenticate(call, purpose);
    if (!auth.ok) return this.#finish(call, asChargeFailure(auth.failure));
    const body = {
      PCD_PAY_TYPE: input.payType,
      PCD_PAYER_ID: input.billingKey,
      PCD_PAY_GOODS: input.goods,
      PCD_PAY_TOTAL: String(input.amount),
      PCD_PAY_OID: input.oid,
      PCD_SIMPLE_FLAG: 'Y',
      ...monthGuardFields(input.monthGuard),
      ...optional('PCD_PAYER_NO', input.payerNo),
      ...optional('PCD_PAYER_NAME', input.payerName),
      ...optional('PCD_PAYER_HP', input.payerPhone),
      ...optional('PCD_PAYER_EMAIL', input.payerEmail),
      ...optional('PCD_PAY_ISTAX', input.taxable === undefined ? undefined : input.taxable ? 'Y' : 'N'),
      ...optional('PCD_PAY_TAXTOTAL', input.taxTotal === undefined ? undefined : String(input.taxTotal)),
      ...optional('PCD_TAXSAVE_FLAG', input.cashReceipt === true ? 'Y' : undefined),
    };
    const outcome = await this.#operate(call, {
      token: auth.token,
      body,
      timeoutMs: this.#timeouts.chargeMs,
      context: {
        operation: 'charge',
        payType: input.payType,
        expected: { oid: input.oid, amount: input.amount },
      },
      parse: (answer) => parseReceipt(answer, input.payType),
    });
    return asChargeOutcome(outcome);
  }

  /**
   * Partner auth for the registration / payment window: what the browser needs to open it. Never
   * reused. Throws a retryable `PaypleTransportError` when Payple gives no usable answer.
   */
  async createWindowAuth(): Promise<WindowAuthOutcome> {
    const call = this.#call('window_auth', false, undefined, []);
    const auth = await this.#authenticate(call, authFlags.window);
    if (!auth.ok) return this.#settleAuthFailure(call, auth);
    const { authKey, returnUrl, payHost } = auth.token;
    return this.#finish(call, {
      kind: 'success',
      code: undefined,
      value: { authKey, payUrl: returnUrl, payHost },
    });
  }

  /**
   * CERT confirm: the final approval of a window payment, posted to the window's `PCD_PAY_COFURL`
   * with the partner's own credentials. Refused before sending (`PaypleHostNotAllowedError`) unless
   * the URL is `https://*.payple.kr` or the configured host. A success must match the expected OID
   * and amount.
   */
  async confirmCertPayment(input: CertConfirmInput): Promise<ChargeOutcome> {
    validateConfirm(input);
    if (!isAllowedTarget(input.confirmUrl, this.#host)) {
      this.#logger.error('Payple cert_confirm refused', {
        operation: 'cert_confirm',
        outcome: 'host_not_allowed',
      });
      throw new PaypleHostNotAllowedError(
        'Payple cert_confirm refused: PCD_PAY_COFURL is neither https://*.payple.kr nor the configured host',
        { operation: 'cert_confirm' },
      );
    }
    const call = this.#call('cert_confirm', true, input.expectedOid, [
      input.authKey,
      input.requestKey,
      input.billingKey,
    ]);
    const outcome = await this.#operate(call, {
      token: {
        cstId: this.#cstId,
        custKey: this.#custKey,
        authKey: input.authKey,
        returnUrl: input.confirmUrl,
      },
      body: { PCD_PAY_REQKEY: input.requestKey, PCD_PAYER_ID: input.billingKey },
      timeoutMs: this.#timeouts.chargeMs,
      context: {
        operation: 'cert_confirm',
        payType: input.payType,
        expected: { oid: input.expectedOid, amount: input.expectedAmount },
      },
      parse: (answer) => parseReceipt(answer, input.payType),
    });
    return asChargeOutcome(outcome);
  }

  /** PUSERINFO: the state of a billing key. Reuses a lookup token for up to 25 minutes. */
  async getBillingKeyInfo(input: BillingKeyInput): Promise<BillingKeyInfoOutcome> {
    validateBillingKey(input, 'billing_key_info');
    const call = this.#call('billing_key_info', false, undefined, [input.billingKey]);
    const auth = await this.#lookupToken(call, 'billing_key_info');
    if (!auth.ok) return this.#settleAuthFailure(call, auth);
    return this.#operate(call, {
      token: auth.token,
      body: { PCD_PAYER_ID: input.billingKey, ...optional('PCD_PAYER_NO', input.payerNo) },
      timeoutMs: this.#timeouts.lookupMs,
      context: { operation: 'billing_key_info' },
      parse: (answer) => parseBillingKeyInfo(answer, input.billingKey),
      cachedAs: 'billing_key_info',
    });
  }

  /** PUSERDEL: deletes a billing key (fresh auth). A key already gone answers `hard_decline`. */
  async deleteBillingKey(input: BillingKeyInput): Promise<BillingKeyDeleteOutcome> {
    validateBillingKey(input, 'billing_key_delete');
    const call = this.#call('billing_key_delete', false, undefined, [input.billingKey]);
    const auth = await this.#authenticate(call, authFlags.billing_key_delete);
    if (!auth.ok) return this.#settleAuthFailure(call, auth);
    return this.#operate(call, {
      token: auth.token,
      body: { PCD_PAYER_ID: input.billingKey, ...optional('PCD_PAYER_NO', input.payerNo) },
      timeoutMs: this.#timeouts.lookupMs,
      context: { operation: 'billing_key_delete' },
      parse: (answer) => parseDeletion(answer, input.billingKey),
    });
  }

  /**
   * Result lookup by OID, pay type and KST request date. `success` means paid with the expected
   * amount; `unknown` means still not known (not found yet, or a code the client does not know);
   * `lookup_limited` means Payple's 1,000 per 10 minutes are used up. Reuses a lookup token for up
   * to 25 minutes; a refused token is dropped and reported as `token_expired` (retrying is safe).
   */
  async lookupPayment(input: PaymentLookupInput): Promise<PaymentLookupOutcome> {
    validateLookup(input);
    const call = this.#call('payment_lookup', false, input.oid, []);
    const auth = await this.#lookupToken(call, 'payment_lookup');
    if (!auth.ok) return this.#settleAuthFailure(call, auth);
    return this.#operate(call, {
      token: auth.token,
      body: {
        PCD_PAYCHK_FLAG: 'Y',
        PCD_PAY_TYPE: input.payType,
        PCD_PAY_OID: input.oid,
        PCD_PAY_DATE: input.date,
      },
      timeoutMs: this.#timeouts.lookupMs,
      context: {
        operation: 'payment_lookup',
        payType: input.payType,
        expected: { oid: input.oid, amount: input.expectedAmount },
      },
      parse: (answer) => parseReceipt(answer, input.payType),
      cachedAs: 'payment_lookup',
    });
  }

  /**
   * Cancels / refunds a payment in full or in part (`amount` below the payment's is partial).
   * Moves money: never throws after sending, anything indefinite is `unknown`.
   */
  async refund(input: RefundInput): Promise<RefundOutcome> {
    validateRefund(input);
    const refundKey = this.#refundKey;
    if (refundKey === undefined || refundKey === '') {
      throw new PaypleConfigurationError('Payple refund needs the refund key in the client configuration', {
        operation: 'refund',
      });
    }
    const call = this.#call('refund', true, input.oid, []);
    const auth = await this.#authenticate(call, authFlags.refund);
    if (!auth.ok) return this.#finish(call, asChargeFailure(auth.failure));
    const outcome = await this.#operate(call, {
      token: auth.token,
      body: {
        PCD_REFUND_KEY: refundKey,
        PCD_PAYCANCEL_FLAG: 'Y',
        PCD_PAY_OID: input.oid,
        PCD_PAY_DATE: input.payDate,
        PCD_REFUND_TOTAL: String(input.amount),
        ...optional('PCD_PAY_TYPE', input.payType),
        ...monthGuardFields(input.monthGuard),
      },
      timeoutMs: this.#timeouts.chargeMs,
      context: {
        operation: 'refund',
        ...(input.payType === undefined ? {} : { payType: input.payType }),
        expected: { oid: input.oid, amount: input.amount, amountField: 'PCD_REFUND_TOTAL' },
      },
      parse: parseRefund,
    });
    return asChargeOutcome(outcome);
  }

  #call(
    operation: PaypleOperation,
    movesMoney: boolean,
    oid: string | undefined,
    secrets: (string | undefined)[],
  ): Call {
    return { operation, movesMoney, oid, startedAt: performance.now(), secrets };
  }

  async #lookupToken(call: Call, purpose: LookupPurpose): Promise<AuthAttempt> {
    const cached = await this.#tokens.get(purpose);
    if (cached !== undefined && this.#clock.now() < cached.expiresAt) return { ok: true, token: cached };
    // Age counts from before the auth request: never trust a token longer than Payple does.
    const issuedAt = this.#clock.now();
    const auth = await this.#authenticate(call, authFlags[purpose]);
    if (auth.ok)
      await this.#tokens.put(purpose, { ...auth.token, expiresAt: issuedAt + LOOKUP_TOKEN_MAX_AGE_MS });
    return auth;
  }

  async #authenticate(call: Call, flags: Readonly<Record<string, string>>): Promise<AuthAttempt> {
    const result = await postJson({
      fetch: this.#fetch,
      url: authUrl(this.#base),
      body: { cst_id: this.#cstId, custKey: this.#custKey, ...flags },
      referer: this.#referer,
      timeoutMs: this.#timeouts.authMs,
      operation: call.operation,
    });
    if (!result.ok) return { ok: false, failure: unknownFrom(result.error, 'auth'), error: result.error };
    const verdict = classifyAuthAnswer(result.answer);
    if (verdict.reason === 'invalid_answer') return this.#invalidAuth(call, [verdict.detail ?? 'result']);
    if (verdict.kind !== 'success') {
      const message = this.#scrub(result.answer['result_msg'] ?? result.answer['PCD_PAY_MSG'], call);
      return { ok: false, failure: this.#failure(verdict, 'auth', message), error: undefined };
    }
    const parsed = parseAuthSuccess(result.answer);
    if (!parsed.ok) return this.#invalidAuth(call, parsed.issues);
    if (!isAllowedTarget(parsed.value.return_url, this.#host)) {
      const failure: PaypleFailure = {
        kind: 'config_error',
        stage: 'auth',
        reason: 'return_url_not_allowed',
        code: undefined,
        issuerCode: undefined,
        message: undefined,
      };
      return { ok: false, failure, error: undefined };
    }
    return {
      ok: true,
      token: {
        cstId: parsed.value.cst_id,
        custKey: parsed.value.custKey,
        authKey: parsed.value.AuthKey,
        returnUrl: parsed.value.return_url,
        payHost: parsed.value.PCD_PAY_HOST,
      },
    };
  }

  #invalidAuth(call: Call, issues: string[]): AuthAttempt {
    const error = new PaypleInvalidAnswerError(issues, { operation: call.operation });
    return { ok: false, failure: unknownFrom(error, 'auth'), error };
  }

  async #operate<T>(call: Call, request: OperationRequest<T>): Promise<PaypleOutcome<T>> {
    const { token } = request;
    const result = await postJson({
      fetch: this.#fetch,
      url: request.url ?? token.returnUrl,
      body: {
        PCD_CST_ID: token.cstId,
        PCD_CUST_KEY: token.custKey,
        PCD_AUTH_KEY: token.authKey,
        ...request.body,
      },
      referer: this.#referer,
      timeoutMs: request.timeoutMs,
      operation: call.operation,
    });
    if (!result.ok) return this.#indefinite(call, result.error, 'operation');
    const verdict = classifyAnswer(result.answer, request.context);
    if (verdict.reason === 'invalid_answer') {
      const error = new PaypleInvalidAnswerError([verdict.detail ?? 'answer'], { operation: call.operation });
      return this.#indefinite(call, error, 'operation');
    }
    if (verdict.kind === 'token_expired' && request.cachedAs !== undefined) {
      await this.#tokens.drop(request.cachedAs, token.authKey);
    }
    if (verdict.kind !== 'success') {
      return this.#finish(
        call,
        this.#failure(verdict, 'operation', this.#scrub(result.answer['PCD_PAY_MSG'], call, token)),
      );
    }
    const parsed = request.parse(result.answer);
    if (!parsed.ok) {
      return this.#indefinite(
        call,
        new PaypleInvalidAnswerError(parsed.issues, { operation: call.operation }),
        'operation',
      );
    }
    return this.#finish(call, { kind: 'success', code: verdict.code, value: parsed.value });
  }

  /** No usable answer: `unknown` for a call that moves money, a thrown retryable error otherwise. */
  #indefinite<T>(call: Call, error: PaypleTransportError, stage: FailureStage): PaypleOutcome<T> {
    if (call.movesMoney) return this.#finish(call, unknownFrom(error, stage));
    this.#log(call, { stage, outcome: 'error', reason: reasonOf(error), error: error.name });
    throw error;
  }

  #settleAuthFailure<T>(call: Call, auth: Extract<AuthAttempt, { ok: false }>): PaypleOutcome<T> {
    return auth.error === undefined
      ? this.#finish(call, auth.failure)
      : this.#indefinite(call, auth.error, 'auth');
  }

  #failure(verdict: Classification, stage: FailureStage, message: string | undefined): PaypleFailure {
    return {
      kind: verdict.kind as FailureKind,
      stage,
      reason: verdict.reason,
      code: verdict.code,
      issuerCode: verdict.issuerCode,
      message,
    };
  }

  #scrub(value: unknown, call: Call, token?: SessionToken): string | undefined {
    if (typeof value !== 'string' || value.trim() === '') return undefined;
    const tokens = token === undefined ? [] : [token.cstId, token.custKey, token.authKey];
    return scrub(value, [this.#custKey, this.#refundKey, ...tokens, ...call.secrets]);
  }

  #finish<T, K extends FailureKind>(call: Call, outcome: PaypleOutcome<T, K>): PaypleOutcome<T, K> {
    this.#log(
      call,
      isSuccess(outcome)
        ? { outcome: 'success', code: outcome.code }
        : {
            stage: outcome.stage,
            outcome: outcome.kind,
            reason: outcome.reason,
            code: outcome.code,
            issuerCode: outcome.issuerCode,
            ...(outcome.cause === undefined ? {} : { error: outcome.cause.name }),
          },
    );
    return outcome;
  }

  /** The only place the client logs: safe fields only. */
  #log(call: Call, fields: Record<string, string | undefined>): void {
    const attributes = {
      operation: call.operation,
      ...(call.oid === undefined ? {} : { oid: call.oid }),
      ...Object.fromEntries(Object.entries(fields).filter(([, value]) => value !== undefined)),
      durationMs: Math.round(performance.now() - call.startedAt),
    };
    const level = logLevels[fields['outcome'] ?? ''] ?? 'warn';
    // Belt and braces: the fields are safe by construction, redact() keeps them so.
    this.#logger[level](`Payple ${call.operation}`, redact(attributes) as Record<string, unknown>);
  }
}
