/**
 * Charging a billing key, shared by the billing-key charge routes, the window's PAY and the CERT
 * confirm: wait while the issuer "thinks", decide the outcome from the test card (or a fault),
 * settle the ledger and describe the result.
 */
import type { PayType, PaypleStatus } from '../codes.ts';
import type { SandboxCore } from '../core.ts';
import { instrumentFields } from '../instruments.ts';
import type { BillingKey, ChargeRecord } from '../ledger.ts';
import { kstDisplayTime } from '../kst.ts';

/** The codes one kind of charge answers with. */
export interface OutcomeCodes {
  readonly success: string;
  readonly declined: string;
  readonly noAnswer: string;
}

export interface ChargeResult {
  /** What the caller is answered. */
  readonly status: PaypleStatus;
  /** What the webhook says: the truth, which differs from the answer for unknown outcomes. */
  readonly webhookStatus: PaypleStatus;
}

export function successText(payType: PayType): string {
  return payType === 'card' ? '카드결제완료' : '출금완료';
}

function noAnswerText(payType: PayType): string {
  return payType === 'card' ? '카드사 응답없음' : '결과 미수신';
}

/** A test card's message carries its simple-route code; other routes swap in their own. */
function withCode(message: string, from: string, to: string): string {
  return message.replace(`[${from}]`, `[${to}]`);
}

/**
 * Runs a charge that has been claimed (`processing`) to its settlement. The OID stays claimed the
 * whole time, so a second request with it is refused while this one waits.
 */
export async function executeCharge(
  core: SandboxCore,
  record: ChargeRecord,
  key: BillingKey,
  codes: OutcomeCodes,
  options: { readonly delayMs: number; readonly noAnswer: { readonly charged: boolean } | undefined },
): Promise<ChargeResult> {
  const behaviour = key.instrument.behaviour;
  await core.pause(options.delayMs + (behaviour.delayMs === undefined ? 0 : core.slowDelayMs));

  const success: PaypleStatus = {
    PCD_PAY_RST: 'success',
    PCD_PAY_CODE: codes.success,
    PCD_PAY_MSG: successText(record.payType),
  };
  const notApproved: PaypleStatus = {
    PCD_PAY_RST: 'error',
    PCD_PAY_CODE: codes.declined,
    PCD_PAY_MSG: `[test] [${codes.declined}] ${noAnswerText(record.payType)} - 승인되지 않음`,
  };
  let charged: boolean;
  let status: PaypleStatus;
  if (options.noAnswer) {
    charged = options.noAnswer.charged;
    status = {
      PCD_PAY_RST: 'error',
      PCD_PAY_CODE: codes.noAnswer,
      PCD_PAY_MSG: `[test] [${codes.noAnswer}] ${noAnswerText(record.payType)}`,
    };
  } else if (behaviour.outcome === 'approved') {
    charged = true;
    status = success;
  } else {
    charged = behaviour.charged;
    const code = behaviour.outcome === 'declined' ? codes.declined : codes.noAnswer;
    status = {
      PCD_PAY_RST: 'error',
      PCD_PAY_CODE: code,
      PCD_PAY_MSG: withCode(behaviour.message, behaviour.code, code),
    };
  }
  core.ledger.settle(record, charged, status, core.clock.now());
  const definite = options.noAnswer === undefined && behaviour.outcome !== 'unknown';
  return { status, webhookStatus: charged ? success : definite ? status : notApproved };
}

/**
 * The payment fields of an answer, lookup or webhook. Card numbers and accounts are masked; the
 * customer fields echo what the partner sent with the charge (Payple fills nothing in).
 */
export function paymentFields(
  core: SandboxCore,
  record: ChargeRecord,
  key: BillingKey | undefined,
  timeFormat: 'compact' | 'display' = 'compact',
): Record<string, string> {
  const paid = record.state === 'settled' && record.charged;
  const fields: Record<string, string> = {
    PCD_PAY_OID: record.oid,
    PCD_PAY_TYPE: record.payType,
    PCD_PAYER_ID: record.payerId,
    PCD_PAYER_NO: record.payer.payerNo,
    PCD_PAYER_NAME: record.payer.payerName,
    PCD_PAYER_HP: record.payer.payerHp,
    PCD_PAYER_EMAIL: record.payer.payerEmail,
    PCD_PAY_GOODS: record.goods,
    PCD_PAY_TOTAL: String(record.amount),
    PCD_PAY_TAXTOTAL: record.taxTotal,
    PCD_PAY_ISTAX: record.isTax,
    PCD_PAY_TIME: paid
      ? timeFormat === 'compact'
        ? record.payTime
        : kstDisplayTime(record.settledAt ?? 0)
      : '',
  };
  if (record.payType === 'card') {
    const card = key ? instrumentFields(key.instrument) : {};
    fields['PCD_PAY_CARDNAME'] = paid ? (card['PCD_PAY_CARDNAME'] ?? '') : '';
    fields['PCD_PAY_CARDNUM'] = paid ? (card['PCD_PAY_CARDNUM'] ?? '') : '';
    fields['PCD_PAY_CARDTRADENUM'] = record.cardTradeNum;
    fields['PCD_PAY_CARDAUTHNO'] = record.cardAuthNo;
    fields['PCD_PAY_CARDRECEIPT'] = paid ? `${core.url}/receipt/${record.cardTradeNum}` : '';
  } else {
    const account = key ? instrumentFields(key.instrument) : {};
    fields['PCD_PAY_BANK'] = paid ? (account['PCD_PAY_BANK'] ?? '') : '';
    fields['PCD_PAY_BANKNAME'] = paid ? (account['PCD_PAY_BANKNAME'] ?? '') : '';
    fields['PCD_PAY_BANKNUM'] = paid ? (account['PCD_PAY_BANKNUM'] ?? '') : '';
    fields['PCD_TAXSAVE_FLAG'] = 'N';
    fields['PCD_TAXSAVE_RST'] = 'N';
  }
  return fields;
}

/** Sends the result webhook of a settled charge. */
export function emitChargeWebhook(
  core: SandboxCore,
  operation: 'charge' | 'certConfirm' | 'window',
  record: ChargeRecord,
  key: BillingKey,
  result: ChargeResult,
  extra: Readonly<Record<string, string>> = {},
): void {
  core.webhooks.emit({
    operation,
    payType: record.payType,
    oid: record.oid,
    payerId: record.payerId,
    body: {
      PCD_CST_ID: record.cstId,
      ...result.webhookStatus,
      ...paymentFields(core, record, key),
      ...extra,
    },
  });
}

/** Records whether a charge's answer reached the caller. */
export function deliveryRecorder(record: ChargeRecord): (delivered: boolean) => void {
  return (delivered) => {
    record.answerDelivered = delivered;
  };
}
