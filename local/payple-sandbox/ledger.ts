/**
 * The sandbox's memory of money: billing keys, every charge attempt keyed by OID (with its
 * refunds), the month guard and the lookup budget. Amounts are whole won, as integers.
 */
import { randomBytes } from 'node:crypto';
import type { PayType, PaypleStatus } from './codes.ts';
import { instrumentFor, type Instrument } from './instruments.ts';
import { kstDate, kstDateTime } from './kst.ts';

/** Customer fields a registration or charge carries along (answered back, never checked). */
export interface PayerFields {
  readonly payerNo: string;
  readonly payerName: string;
  readonly payerHp: string;
  readonly payerEmail: string;
}

export const noPayerFields: PayerFields = { payerNo: '', payerName: '', payerHp: '', payerEmail: '' };

/** A billing key (PCD_PAYER_ID). `deleted` is final: Payple never revives a key. */
export interface BillingKey {
  readonly payerId: string;
  readonly cstId: string;
  /**
   * The card or account behind the key. The admin may swap it for another of the same pay type (a
   * reissued card, or a test that wants the key's next charge to decline); the key stays the same.
   */
  instrument: Instrument;
  readonly payer: PayerFields;
  readonly createdAt: number;
  status: 'active' | 'deleted';
  deletedAt?: number;
  /** Who deleted it: the partner's PUSERDEL call, or someone in Payple's admin (sends a webhook). */
  deletedBy?: 'PUSERDEL' | 'admin';
}

/** How a charge reached the sandbox. */
export type ChargeOrigin = 'simple' | 'regular' | 'windowPay' | 'certConfirm';

export interface RefundRecord {
  readonly amount: number;
  readonly refundedAt: number;
  /** KST `YYYYMMDDhhmmss`. */
  readonly refundTime: string;
}

/**
 * One charge attempt. `processing` → `settled` exactly once; `charged` says whether money moved,
 * which is NOT the same as what the answer said (SPCD1001, CPAY0018 and the answer-lost faults
 * answer an error or nothing while money moved).
 */
export interface ChargeRecord {
  readonly oid: string;
  readonly cstId: string;
  readonly payerId: string;
  readonly payType: PayType;
  readonly amount: number;
  readonly origin: ChargeOrigin;
  readonly goods: string;
  readonly payer: PayerFields;
  readonly isTax: string;
  readonly taxTotal: string;
  /** Month guard year and month, for `regular` charges. */
  readonly guard: { readonly year: number; readonly month: number } | undefined;
  readonly requestedAt: number;
  /** KST `YYYYMMDD` of the request: what `PCD_PAY_DATE` must say in a lookup or refund. */
  readonly payDate: string;
  state: 'processing' | 'settled';
  charged: boolean;
  settledAt?: number;
  /** KST `YYYYMMDDhhmmss` of settlement. */
  payTime: string;
  /** What the charge's answer said (code and message), once settled. */
  answer?: PaypleStatus;
  /** Whether the answer reached the caller's socket; undefined while nobody knows yet. */
  answerDelivered?: boolean;
  cardTradeNum: string;
  cardAuthNo: string;
  readonly refunds: RefundRecord[];
}

/** A read-only view of a charge attempt, as the admin API shows it. */
export interface LedgerEntry {
  readonly oid: string;
  readonly cstId: string;
  readonly payerId: string;
  readonly payType: PayType;
  readonly origin: ChargeOrigin;
  readonly amount: number;
  readonly status: 'processing' | 'charged' | 'declined' | 'partiallyRefunded' | 'refunded';
  /** Whole won taken from the customer and not refunded. */
  readonly chargedAmount: number;
  readonly refundedAmount: number;
  readonly refunds: readonly RefundRecord[];
  readonly payDate: string;
  readonly payTime: string;
  readonly requestedAt: number;
  readonly answerCode: string | undefined;
  readonly answerMessage: string | undefined;
  readonly answerDelivered: boolean | undefined;
  readonly monthGuard: { readonly year: number; readonly month: number } | undefined;
}

export function refundedTotal(record: ChargeRecord): number {
  return record.refunds.reduce((sum, refund) => sum + refund.amount, 0);
}

export function toLedgerEntry(record: ChargeRecord): LedgerEntry {
  const refunded = refundedTotal(record);
  let status: LedgerEntry['status'];
  if (record.state === 'processing') status = 'processing';
  else if (!record.charged) status = 'declined';
  else if (refunded === 0) status = 'charged';
  else status = refunded >= record.amount ? 'refunded' : 'partiallyRefunded';
  return {
    oid: record.oid,
    cstId: record.cstId,
    payerId: record.payerId,
    payType: record.payType,
    origin: record.origin,
    amount: record.amount,
    status,
    chargedAmount: record.charged ? record.amount - refunded : 0,
    refundedAmount: refunded,
    refunds: [...record.refunds],
    payDate: record.payDate,
    payTime: record.payTime,
    requestedAt: record.requestedAt,
    answerCode: record.answer?.PCD_PAY_CODE,
    answerMessage: record.answer?.PCD_PAY_MSG,
    answerDelivered: record.answerDelivered,
    monthGuard: record.guard,
  };
}

/** What a new charge attempt needs; the ledger adds the rest. */
export type NewCharge = Pick<
  ChargeRecord,
  | 'oid'
  | 'cstId'
  | 'payerId'
  | 'payType'
  | 'amount'
  | 'origin'
  | 'goods'
  | 'payer'
  | 'isTax'
  | 'taxTotal'
  | 'guard'
>;

function digits(count: number): string {
  let out = '';
  for (const byte of randomBytes(count)) out += String(byte % 10);
  return out;
}

/**
 * What the ledger remembers, as plain JSON: the local stack saves it in its data folder so billing
 * keys and payments outlive a restart, as they do at Payple. Tokens, windows, faults, webhooks and
 * lookup counts are not part of it: they are short-lived, as after a Payple restart.
 */
export interface LedgerSnapshot {
  readonly version: 1;
  readonly oidCounter: number;
  readonly billingKeys: readonly (Omit<BillingKey, 'instrument'> & {
    readonly payType: PayType;
    readonly number: string;
  })[];
  readonly charges: readonly ChargeRecord[];
}

export class Ledger {
  readonly #keys = new Map<string, BillingKey>();
  /** Keyed by `${cstId}\n${oid}`: OIDs are unique per partner. */
  readonly #charges = new Map<string, ChargeRecord>();
  #oidCounter = 0;

  createBillingKey(cstId: string, instrument: Instrument, payer: PayerFields, now: number): BillingKey {
    const key: BillingKey = {
      // Payple's keys look like base64 of random bytes ("NS9qNTgzU2xRNHR2RmFBWWFBTWk5UT09").
      payerId: randomBytes(24).toString('base64').replace(/[+/]/g, 'A'),
      cstId,
      instrument,
      payer,
      createdAt: now,
      status: 'active',
    };
    this.#keys.set(key.payerId, key);
    return key;
  }

  billingKey(cstId: string, payerId: string): BillingKey | undefined {
    const key = this.#keys.get(payerId);
    return key?.cstId === cstId ? key : undefined;
  }

  billingKeys(): BillingKey[] {
    return [...this.#keys.values()];
  }

  /** Forgets a key that was never issued (a window payment that took no money). */
  discardBillingKey(payerId: string): void {
    this.#keys.delete(payerId);
  }

  /** Puts another card or account of the same pay type behind an active key. */
  replaceInstrument(key: BillingKey, instrument: Instrument): void {
    if (instrument.payType !== key.instrument.payType) {
      throw new RangeError(`a ${key.instrument.payType} key cannot hold a ${instrument.payType}`);
    }
    key.instrument = instrument;
  }

  deleteBillingKey(key: BillingKey, by: 'PUSERDEL' | 'admin', now: number): void {
    key.status = 'deleted';
    key.deletedAt = now;
    key.deletedBy = by;
  }

  /** An OID the way Payple invents one when the partner sends none. */
  inventOid(now: number): string {
    this.#oidCounter += 1;
    return `test${kstDateTime(now)}${String(this.#oidCounter).padStart(4, '0')}${digits(3)}`;
  }

  /**
   * Claims the OID and records the attempt as processing, or answers undefined when the partner
   * already used that OID (settled or still processing: Payple refuses both).
   */
  begin(charge: NewCharge, now: number): ChargeRecord | undefined {
    const id = `${charge.cstId}\n${charge.oid}`;
    if (this.#charges.has(id)) return undefined;
    const record: ChargeRecord = {
      ...charge,
      requestedAt: now,
      payDate: kstDate(now),
      state: 'processing',
      charged: false,
      payTime: '',
      cardTradeNum: '',
      cardAuthNo: '',
      refunds: [],
    };
    this.#charges.set(id, record);
    return record;
  }

  settle(record: ChargeRecord, charged: boolean, answer: PaypleStatus, now: number): void {
    record.state = 'settled';
    record.charged = charged;
    record.settledAt = now;
    record.payTime = kstDateTime(now);
    record.answer = answer;
    if (charged && record.payType === 'card') {
      record.cardTradeNum = `${record.payTime}${digits(10)}`;
      record.cardAuthNo = digits(8);
    }
  }

  charge(cstId: string, oid: string): ChargeRecord | undefined {
    return this.#charges.get(`${cstId}\n${oid}`);
  }

  charges(): ChargeRecord[] {
    return [...this.#charges.values()];
  }

  /**
   * Whether the key already has a monthly-guarded charge for that year and month that took money
   * or may still take it (processing). Declined attempts do not count: the partner may retry.
   */
  monthTaken(payerId: string, year: number, month: number): boolean {
    for (const record of this.#charges.values()) {
      if (record.payerId !== payerId || record.guard?.year !== year || record.guard.month !== month) continue;
      if (record.state === 'processing' || record.charged) return true;
    }
    return false;
  }

  refund(record: ChargeRecord, amount: number, now: number): RefundRecord {
    const refund: RefundRecord = { amount, refundedAt: now, refundTime: kstDateTime(now) };
    record.refunds.push(refund);
    return refund;
  }

  clear(): void {
    this.#keys.clear();
    this.#charges.clear();
  }

  snapshot(): LedgerSnapshot {
    return structuredClone({
      version: 1,
      oidCounter: this.#oidCounter,
      billingKeys: [...this.#keys.values()].map(({ instrument, ...key }) => ({
        ...key,
        payType: instrument.payType,
        number: instrument.number,
      })),
      charges: [...this.#charges.values()],
    });
  }

  /** Replaces every key and charge with the snapshot's. */
  restore(snapshot: LedgerSnapshot): void {
    this.clear();
    this.#oidCounter = snapshot.oidCounter;
    for (const { payType, number, ...key } of structuredClone(snapshot.billingKeys)) {
      this.#keys.set(key.payerId, { ...key, instrument: instrumentFor(payType, number) });
    }
    for (const charge of structuredClone(snapshot.charges)) {
      this.#charges.set(`${charge.cstId}\n${charge.oid}`, charge);
    }
  }
}

/**
 * Payple's result-lookup budget: 1,000 per 10 minutes for the whole partner. The sandbox counts a
 * rolling window (any 10 minutes), the stricter reading; refused lookups are not counted, so a
 * client that backs off recovers as soon as the oldest counted lookup leaves the window.
 */
export class LookupLimiter {
  readonly #log = new Map<string, number[]>();

  constructor(
    public max: number,
    public windowMs: number,
  ) {}

  /** Counts a lookup if the budget allows it; false means PCHK9997. */
  take(cstId: string, now: number): boolean {
    const log = this.#recent(cstId, now);
    if (log.length >= this.max) return false;
    log.push(now);
    return true;
  }

  count(cstId: string, now: number): number {
    return this.#recent(cstId, now).length;
  }

  #recent(cstId: string, now: number): number[] {
    const log = (this.#log.get(cstId) ?? []).filter((at) => now - at < this.windowMs);
    this.#log.set(cstId, log);
    return log;
  }

  clear(): void {
    this.#log.clear();
  }
}
