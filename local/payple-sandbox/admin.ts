/**
 * The sandbox's back door for tests and people: read the ledger, make billing keys without a
 * browser, end keys "in Payple's admin", inject faults, read webhooks, reset. The same operations
 * are served over HTTP under `/__sandbox/` (JSON; see the README).
 */
import { z } from 'zod';
import type { PayType } from './codes.ts';
import type { SandboxCore } from './core.ts';
import type { Fault, FaultSpec } from './faults.ts';
import { instrumentFor, isValidNumber, maskAccount, maskCard, normalizeNumber } from './instruments.ts';
import { noPayerFields, toLedgerEntry, type BillingKey, type LedgerEntry } from './ledger.ts';
import { testAccounts, testCards } from './test-cards.ts';
import type { WebhookDelivery } from './webhooks.ts';

/** A billing key as the admin API shows it (the number masked, as everywhere). */
export interface BillingKeyView {
  /** The billing key: what the partner stores and sends as PCD_PAYER_ID. */
  readonly PCD_PAYER_ID: string;
  readonly cstId: string;
  readonly payType: PayType;
  /** Name in `testCards` / `testAccounts`, or undefined for another number. */
  readonly testName: string | undefined;
  readonly maskedNumber: string;
  readonly status: 'active' | 'deleted';
  readonly createdAt: number;
  readonly deletedAt: number | undefined;
  readonly deletedBy: 'PUSERDEL' | 'admin' | undefined;
}

export const createBillingKeySchema = z
  .strictObject({
    /** A `testCards` name (`insufficientFunds`) or a card number. */
    card: z.string().min(1).optional(),
    /** A `testAccounts` name (`closed`) or an account number. */
    account: z.string().min(1).optional(),
    /** The partner owning the key; default: the first partner (`test`). */
    cstId: z.string().min(1).optional(),
    payerNo: z
      .string()
      .regex(/^\d{0,20}$/)
      .optional(),
    payerName: z.string().max(80).optional(),
    payerHp: z
      .string()
      .regex(/^\d{0,15}$/)
      .optional(),
    payerEmail: z.string().max(100).optional(),
  })
  .refine((input) => (input.card === undefined) !== (input.account === undefined), {
    message: 'give exactly one of card or account',
  });

export type CreateBillingKeyInput = z.input<typeof createBillingKeySchema>;

export const setInstrumentSchema = z
  .strictObject({
    /** For a card key: a `testCards` name (`insufficientFunds`) or a card number. */
    card: z.string().min(1).optional(),
    /** For an account key: a `testAccounts` name (`closed`) or an account number. */
    account: z.string().min(1).optional(),
  })
  .refine((input) => (input.card === undefined) !== (input.account === undefined), {
    message: 'give exactly one of card or account',
  });

export type SetInstrumentInput = z.input<typeof setInstrumentSchema>;

export interface LookupUsage {
  readonly cstId: string;
  /** Lookups counted in the current (rolling) window. */
  readonly count: number;
  readonly max: number;
  readonly windowMs: number;
}

/** In-process handle to the sandbox; every method has an HTTP twin under `/__sandbox/`. */
export interface SandboxAdmin {
  /** Every charge attempt (with its refunds), oldest first. */
  ledger(): LedgerEntry[];
  /** The attempt with this OID (of the default partner unless `cstId` is given). */
  ledgerEntry(oid: string, cstId?: string): LedgerEntry | undefined;
  billingKeys(): BillingKeyView[];
  /** Registers a test card or account directly, as if through the window with PCD_PAY_WORK=AUTH. */
  createBillingKey(input: CreateBillingKeyInput): BillingKeyView;
  /** Ends a key "in Payple's admin": it stops working and a PUSERDEL webhook is sent. */
  terminateBillingKey(payerId: string): BillingKeyView;
  /**
   * Puts another card (or account) of the same pay type behind an active key, so its next charges
   * follow that test number's outcome: `{card: 'insufficientFunds'}` makes a working key decline.
   * No webhook: at Payple the key simply starts being refused by the issuer.
   */
  setBillingKeyInstrument(payerId: string, input: SetInstrumentInput): BillingKeyView;
  addFault(spec: FaultSpec): Fault;
  faults(): Fault[];
  removeFault(id: string): boolean;
  clearFaults(): void;
  lookupUsage(cstId?: string): LookupUsage;
  webhooks(): WebhookDelivery[];
  /** Sends delayed webhooks now. */
  releaseWebhooks(): void;
  /** Resolves once no webhook is pending or delayed. */
  webhooksIdle(): Promise<void>;
  readonly webhookUrl: string | undefined;
  setWebhookUrl(url: string | undefined): void;
  /** How long the `slow` test card takes (default 20 s). */
  setSlowDelay(ms: number): void;
  /** Forgets keys, payments, tokens, windows, faults, webhooks and lookup counts; keeps settings. */
  reset(): void;
}

export class AdminError extends Error {
  constructor(
    readonly status: 400 | 404,
    message: string,
  ) {
    super(message);
  }
}

function view(key: BillingKey): BillingKeyView {
  const { instrument } = key;
  return {
    PCD_PAYER_ID: key.payerId,
    cstId: key.cstId,
    payType: instrument.payType,
    testName: instrument.name,
    maskedNumber:
      instrument.payType === 'card' ? maskCard(instrument.number) : maskAccount(instrument.number),
    status: key.status,
    createdAt: key.createdAt,
    deletedAt: key.deletedAt,
    deletedBy: key.deletedBy,
  };
}

function resolveNumber(payType: PayType, nameOrNumber: string): string {
  const table: Record<string, { number: string }> = payType === 'card' ? testCards : testAccounts;
  const named = table[nameOrNumber];
  if (named) return named.number;
  const number = normalizeNumber(nameOrNumber);
  if (!isValidNumber(payType, number)) {
    throw new AdminError(
      400,
      `${nameOrNumber} is neither a test ${payType === 'card' ? 'card' : 'account'} name nor a valid number`,
    );
  }
  return number;
}

export function createAdmin(core: SandboxCore): SandboxAdmin {
  const defaultCstId = (): string => {
    const first = core.partners.keys().next();
    if (first.done === true) throw new AdminError(400, 'the sandbox has no partner');
    return first.value;
  };
  return {
    ledger: () => core.ledger.charges().map(toLedgerEntry),
    ledgerEntry: (oid, cstId) => {
      const record = core.ledger.charge(cstId ?? defaultCstId(), oid);
      return record && toLedgerEntry(record);
    },
    billingKeys: () => core.ledger.billingKeys().map(view),
    createBillingKey(input) {
      const parsed = createBillingKeySchema.safeParse(input);
      if (!parsed.success) throw new AdminError(400, z.prettifyError(parsed.error));
      const { card, account, cstId = defaultCstId(), ...payer } = parsed.data;
      if (!core.partners.has(cstId)) throw new AdminError(400, `unknown partner ${cstId}`);
      const payType: PayType = card === undefined ? 'transfer' : 'card';
      const number = resolveNumber(payType, card ?? account ?? '');
      const key = core.ledger.createBillingKey(
        cstId,
        instrumentFor(payType, number),
        { ...noPayerFields, ...payer },
        core.clock.now(),
      );
      return view(key);
    },
    terminateBillingKey(payerId) {
      const key = core.ledger.billingKeys().find((candidate) => candidate.payerId === payerId);
      if (!key) throw new AdminError(404, 'no such billing key');
      if (key.status === 'deleted') throw new AdminError(400, 'the billing key is already deleted');
      core.ledger.deleteBillingKey(key, 'admin', core.clock.now());
      core.webhooks.emit({
        operation: 'keyTerminated',
        payType: key.instrument.payType,
        oid: undefined,
        payerId: key.payerId,
        body: {
          PCD_CST_ID: key.cstId,
          PCD_PAY_RST: 'success',
          PCD_PAY_CODE: 'PUER0000',
          PCD_PAY_MSG: '관리자 빌링키 해지',
          PCD_PAY_WORK: 'PUSERDEL',
          PCD_PAY_TYPE: key.instrument.payType,
          PCD_PAYER_ID: key.payerId,
          PCD_PAYER_NO: key.payer.payerNo,
        },
      });
      return view(key);
    },
    setBillingKeyInstrument(payerId, input) {
      const parsed = setInstrumentSchema.safeParse(input);
      if (!parsed.success) throw new AdminError(400, z.prettifyError(parsed.error));
      const key = core.ledger.billingKeys().find((candidate) => candidate.payerId === payerId);
      if (!key) throw new AdminError(404, 'no such billing key');
      if (key.status === 'deleted') throw new AdminError(400, 'the billing key is deleted');
      const { card, account } = parsed.data;
      const payType: PayType = card === undefined ? 'transfer' : 'card';
      if (payType !== key.instrument.payType) {
        throw new AdminError(
          400,
          `the key holds ${key.instrument.payType === 'card' ? 'a card: give card' : 'an account: give account'}`,
        );
      }
      core.ledger.replaceInstrument(
        key,
        instrumentFor(payType, resolveNumber(payType, card ?? account ?? '')),
      );
      return view(key);
    },
    addFault(spec) {
      try {
        return core.faults.add(spec);
      } catch (error) {
        if (error instanceof z.ZodError) throw new AdminError(400, z.prettifyError(error));
        throw error;
      }
    },
    faults: () => core.faults.list(),
    removeFault: (id) => core.faults.remove(id),
    clearFaults: () => {
      core.faults.clear();
    },
    lookupUsage(cstId) {
      const partner = cstId ?? defaultCstId();
      return {
        cstId: partner,
        count: core.lookups.count(partner, core.clock.now()),
        max: core.lookups.max,
        windowMs: core.lookups.windowMs,
      };
    },
    webhooks: () => core.webhooks.deliveries(),
    releaseWebhooks: () => {
      core.webhooks.release();
    },
    webhooksIdle: () => core.webhooks.idle(),
    get webhookUrl() {
      return core.webhooks.url;
    },
    setWebhookUrl(url) {
      if (url !== undefined && !URL.canParse(url)) throw new AdminError(400, 'webhook URL is not a URL');
      core.webhooks.url = url;
    },
    setSlowDelay(ms) {
      if (!Number.isInteger(ms) || ms < 0)
        throw new AdminError(400, 'slow delay must be a whole number of ms');
      core.slowDelayMs = ms;
    },
    reset: () => {
      core.reset();
    },
  };
}
