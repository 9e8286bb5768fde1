/**
 * What the sandbox knows about a registered card or account: which test outcome it has, which
 * issuer it belongs to, and how Payple masks it.
 */
import type { PayType } from './codes.ts';
import { testAccounts, testCards, type TestInstrument } from './test-cards.ts';

/** A registered card or account as the sandbox keeps it (never answered unmasked). */
export interface Instrument {
  readonly payType: PayType;
  readonly number: string;
  /** The test-table entry; numbers that are in no table behave like `success`. */
  readonly behaviour: TestInstrument;
  /** Test-table name, or undefined for a number that is in no table. */
  readonly name: string | undefined;
}

// One issuer per pay type, taken from Payple's own samples (PUSERINFO: 0200 BC카드; window: 020
// 우리은행), so answers carry realistic pairs without inventing an issuer code table.
export const cardIssuer = { code: '0200', name: 'BC카드' } as const;
export const bank = { code: '020', name: '우리은행' } as const;

const CARD_NUMBER = /^\d{15,16}$/;
const ACCOUNT_NUMBER = /^\d{10,14}$/;

/** Digits only: people type card numbers with spaces or dashes. */
export function normalizeNumber(raw: string): string {
  return raw.replace(/[\s-]/g, '');
}

/** Whether a number has the shape of a card (15-16 digits) or an account (10-14 digits). */
export function isValidNumber(payType: PayType, number: string): boolean {
  return (payType === 'card' ? CARD_NUMBER : ACCOUNT_NUMBER).test(number);
}

/** Resolves a card or account number (already normalized) to its test behaviour. */
export function instrumentFor(payType: PayType, number: string): Instrument {
  const table: Record<string, TestInstrument> = payType === 'card' ? testCards : testAccounts;
  for (const [name, behaviour] of Object.entries(table)) {
    if (behaviour.number === number) return { payType, number, behaviour, name };
  }
  const fallback = payType === 'card' ? testCards.success : testAccounts.success;
  return { payType, number, behaviour: fallback, name: undefined };
}

/** `1234-****-****-5678`, as Payple masks card numbers. */
export function maskCard(number: string): string {
  return `${number.slice(0, 4)}-****-****-${number.slice(-4)}`;
}

/** `123-********-456`, as Payple masks account numbers. */
export function maskAccount(number: string): string {
  return `${number.slice(0, 3)}-${'*'.repeat(Math.max(number.length - 6, 1))}-${number.slice(-3)}`;
}

/** `010-****-5678`, as PUSERINFO masks phone numbers; anything else is masked entirely. */
export function maskPhone(phone: string): string {
  const digits = phone.replace(/\D/g, '');
  if (digits.length < 10) return phone === '' ? '' : '****';
  return `${digits.slice(0, 3)}-****-${digits.slice(-4)}`;
}

/** The card or bank fields of an answer, for this instrument. */
export function instrumentFields(instrument: Instrument): Record<string, string> {
  return instrument.payType === 'card'
    ? {
        PCD_PAY_CARD: cardIssuer.code,
        PCD_PAY_CARDNAME: cardIssuer.name,
        PCD_PAY_CARDNUM: maskCard(instrument.number),
      }
    : {
        PCD_PAY_BANK: bank.code,
        PCD_PAY_BANKNAME: bank.name,
        PCD_PAY_BANKNUM: maskAccount(instrument.number),
      };
}
