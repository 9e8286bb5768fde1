/**
 * The payment window. The merchant's page opens it by navigating (GET with a query, or a form POST,
 * which is what the stand-in `PaypleCpayAuthCheck` does) to the `return_url` of a window auth with
 * the window parameters; the AuthKey is used up when the window opens. The customer enters a test
 * card or account number; the result goes back through the browser to PCD_RST_URL as an
 * auto-submitting form.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import {
  authCodes,
  chargeCodes,
  confirmCodes,
  windowCodes,
  type PayType,
  type PaypleStatus,
} from '../codes.ts';
import type { SandboxCore, WindowSession } from '../core.ts';
import { FieldError, Fields, htmlReply, type Reply } from '../http.ts';
import { instrumentFields, instrumentFor, isValidNumber, normalizeNumber } from '../instruments.ts';
import type { BillingKey } from '../ledger.ts';
import { refusalText } from '../tokens.ts';
import { errorPage, resultPage, windowPage } from '../window-html.ts';
import { amountProblem, OID_PATTERN, payerFieldsFrom } from './charge.ts';
import type { OperationResult } from './common.ts';
import { deliveryRecorder, emitChargeWebhook, executeCharge, paymentFields } from './payment.ts';

/** Where the CERT confirm is posted, at the paths Payple documents. */
export function confirmPath(payType: PayType): string {
  return payType === 'card' ? '/php/PayCardConfirmAct.php?ACT_=PAYM' : '/php/PayConfirmAct.php';
}

/**
 * Resolves PCD_RST_URL. An absolute URL is used as is (Payple's "direct" mode); a relative one
 * (Payple's popup mode) is resolved against the merchant page that opened the window, known from
 * the Referer of the opening request.
 */
function resolveRstUrl(raw: string | undefined, request: IncomingMessage): string | undefined {
  if (raw === undefined) return undefined;
  try {
    const url = new URL(raw, request.headers.referer);
    return url.protocol === 'http:' || url.protocol === 'https:' ? url.href : undefined;
  } catch {
    return undefined;
  }
}

function postResult(rstUrl: string, fields: Record<string, string>): Reply {
  return htmlReply(resultPage(rstUrl, fields));
}

function errorResult(rstUrl: string, status: PaypleStatus, payType: string, work: string): Reply {
  return postResult(rstUrl, { ...status, PCD_PAY_TYPE: payType, PCD_PAY_WORK: work });
}

/** GET or POST to the window auth's return_url: validates, uses the AuthKey, shows the window. */
export function openWindow(
  core: SandboxCore,
  request: IncomingMessage,
  params: Record<string, string>,
): Reply {
  const fields = new Fields(params);
  const rstUrl = resolveRstUrl(params['PCD_RST_URL'] || undefined, request);
  if (rstUrl === undefined) {
    return htmlReply(errorPage('결제창을 열 수 없습니다', 'PCD_RST_URL 이 없거나 올바르지 않습니다.'), 400);
  }
  const payTypeRaw = params['PCD_PAY_TYPE'] ?? '';
  const workRaw = params['PCD_PAY_WORK'] ?? '';
  try {
    const payType = fields.oneOf('PCD_PAY_TYPE', ['card', 'transfer'] as const);
    const work = fields.oneOf('PCD_PAY_WORK', ['AUTH', 'PAY', 'CERT'] as const);
    const cardVer = payType === 'card' ? fields.oneOf('PCD_CARD_VER', ['01'] as const) : '';
    const paying = work !== 'AUTH';
    const goods = paying ? fields.required('PCD_PAY_GOODS') : (fields.optional('PCD_PAY_GOODS') ?? '');
    const total = paying ? fields.amount('PCD_PAY_TOTAL') : undefined;
    const oid = fields.optional('PCD_PAY_OID');
    if (oid !== undefined && !OID_PATTERN.test(oid)) throw new FieldError('invalid', 'PCD_PAY_OID');
    const payer = payerFieldsFrom(fields);
    const isTax = fields.optionalOneOf('PCD_PAY_ISTAX', ['Y', 'N'] as const) ?? 'Y';
    const taxTotal = fields.optionalDigits('PCD_PAY_TAXTOTAL', 9) ?? '0';
    const authKey = fields.required('PCD_AUTH_KEY');
    const problem = total === undefined ? undefined : amountProblem(payType, total);
    if (problem !== undefined) {
      const { invalid } = windowCodes;
      const status: PaypleStatus = {
        PCD_PAY_RST: 'error',
        PCD_PAY_CODE: invalid,
        PCD_PAY_MSG: `[${invalid}] ${problem}`,
      };
      return errorResult(rstUrl, status, payType, work);
    }
    // Parameters first, AuthKey last: a window refused for its parameters does not use up the key.
    const check = core.tokens.use({ authKey }, ['window']);
    if (!check.ok) {
      const { code } = authCodes.windowToken;
      const status: PaypleStatus = {
        PCD_PAY_RST: 'error',
        PCD_PAY_CODE: code,
        PCD_PAY_MSG: `[${code}] ${refusalText(check.reason)}`,
      };
      return errorResult(rstUrl, status, payType, work);
    }
    const session: WindowSession = {
      id: randomUUID(),
      cstId: check.token.cstId,
      payType,
      work,
      cardVer,
      goods,
      total,
      oid,
      rstUrl,
      payer,
      isTax,
      taxTotal,
      createdAt: core.clock.now(),
      done: false,
    };
    core.windows.set(session.id, session);
    return htmlReply(windowPage(session));
  } catch (error) {
    if (!(error instanceof FieldError)) throw error;
    const status: PaypleStatus = {
      PCD_PAY_RST: 'error',
      PCD_PAY_CODE: windowCodes.invalid,
      PCD_PAY_MSG: `[${windowCodes.invalid}] ${error.message}`,
    };
    return errorResult(rstUrl, status, payTypeRaw, workRaw);
  }
}

/** The result fields every window answer carries, before the work's own. */
function baseFields(core: SandboxCore, session: WindowSession, status: PaypleStatus): Record<string, string> {
  return {
    ...status,
    PCD_PAY_TYPE: session.payType,
    ...(session.payType === 'card' ? { PCD_CARD_VER: session.cardVer } : {}),
    PCD_PAY_WORK: session.work,
    PCD_AUTH_KEY: randomBytes(32).toString('hex'),
    PCD_PAY_REQKEY: '',
    PCD_PAY_COFURL: '',
    PCD_PAY_HOST: core.url,
    PCD_PAYER_ID: '',
    PCD_PAYER_NO: session.payer.payerNo,
    PCD_PAYER_NAME: session.payer.payerName,
    PCD_PAYER_HP: session.payer.payerHp,
    PCD_PAYER_EMAIL: session.payer.payerEmail,
    PCD_PAY_OID: session.oid ?? '',
    PCD_PAY_GOODS: session.goods,
    PCD_PAY_TOTAL: session.total === undefined ? '' : String(session.total),
    PCD_PAY_TAXTOTAL: session.total === undefined ? '' : session.taxTotal,
    PCD_PAY_ISTAX: session.total === undefined ? '' : session.isTax,
    PCD_PAY_TIME: '',
    PCD_SIMPLE_FLAG: 'N',
    PCD_REGULER_FLAG: 'N',
    PCD_RST_URL: session.rstUrl,
  };
}

function registrationFields(key: BillingKey): Record<string, string> {
  const fields = instrumentFields(key.instrument);
  delete fields['PCD_PAY_CARD'];
  return key.instrument.payType === 'card'
    ? { ...fields, PCD_PAY_CARDQUOTA: '00' }
    : { ...fields, PCD_PAY_BANKACCTYPE: 'personal', PCD_TAXSAVE_RST: 'N' };
}

/** Looks a submitted window up, to match faults before the submission runs. */
export function windowOf(core: SandboxCore, form: Record<string, string>): WindowSession | undefined {
  return core.windows.get(form['session'] ?? '');
}

/** The customer submitted (or closed) the window. */
export async function submitWindow(
  core: SandboxCore,
  form: Record<string, string>,
  options: { readonly delayMs: number; readonly noAnswer: { readonly charged: boolean } | undefined },
): Promise<OperationResult> {
  const session = windowOf(core, form);
  if (!session || session.done) {
    return {
      reply: htmlReply(
        errorPage('결제창이 만료되었습니다', '이미 처리되었거나 존재하지 않는 결제창입니다.'),
        400,
      ),
    };
  }
  await core.pause(options.delayMs);
  if (form['action'] === 'close') {
    session.done = true;
    const closed: PaypleStatus = {
      PCD_PAY_RST: 'close',
      PCD_PAY_CODE: '',
      PCD_PAY_MSG: '고객이 결제창을 닫았습니다.',
    };
    return { reply: postResult(session.rstUrl, baseFields(core, session, closed)) };
  }
  const number = normalizeNumber(form['number'] ?? '');
  if (!isValidNumber(session.payType, number)) {
    const what = session.payType === 'card' ? '카드번호는 15~16자리 숫자' : '계좌번호는 10~14자리 숫자';
    return { reply: htmlReply(windowPage(session, `${what}로 입력해주세요.`)) };
  }
  session.done = true;
  const now = core.clock.now();
  const instrument = instrumentFor(session.payType, number);
  const simple = chargeCodes('simple', session.payType);
  const oid = session.oid ?? (session.work === 'AUTH' ? '' : core.ledger.inventOid(now));
  if (oid !== '' && core.ledger.charge(session.cstId, oid)) {
    const status: PaypleStatus = {
      PCD_PAY_RST: 'error',
      PCD_PAY_CODE: simple.duplicate,
      PCD_PAY_MSG: `[${simple.duplicate}] 이미 처리된 거래입니다. (주문번호 중복)`,
    };
    return { reply: postResult(session.rstUrl, { ...baseFields(core, session, status), PCD_PAY_OID: oid }) };
  }
  const key = core.ledger.createBillingKey(session.cstId, instrument, session.payer, now);

  if (session.work === 'AUTH') {
    const status: PaypleStatus = {
      PCD_PAY_RST: 'success',
      PCD_PAY_CODE: windowCodes.success,
      PCD_PAY_MSG: session.payType === 'card' ? '카드등록완료' : '계좌등록완료',
    };
    const fields = {
      ...baseFields(core, session, status),
      PCD_PAYER_ID: key.payerId,
      ...registrationFields(key),
    };
    emitWindowWebhook(core, session, key.payerId, fields);
    return { reply: postResult(session.rstUrl, fields) };
  }

  if (session.work === 'CERT') {
    const reqKey = randomBytes(24).toString('base64url');
    const authKey = randomBytes(32).toString('hex');
    core.certs.set(reqKey, {
      reqKey,
      authKey,
      cstId: session.cstId,
      payerId: key.payerId,
      session,
      oid,
      createdAt: now,
      confirmed: false,
    });
    const status: PaypleStatus = {
      PCD_PAY_RST: 'success',
      PCD_PAY_CODE: windowCodes.success,
      PCD_PAY_MSG: session.payType === 'card' ? '카드인증완료' : '계좌인증완료',
    };
    const fields = {
      ...baseFields(core, session, status),
      PCD_AUTH_KEY: authKey,
      PCD_PAY_REQKEY: reqKey,
      PCD_PAY_COFURL: `${core.url}${confirmPath(session.payType)}`,
      PCD_PAYER_ID: key.payerId,
      PCD_PAY_OID: oid,
      ...registrationFields(key),
    };
    emitWindowWebhook(core, session, key.payerId, fields);
    return { reply: postResult(session.rstUrl, fields) };
  }

  // PAY: register and charge at once. A charge that took no money issues no billing key.
  const record = core.ledger.begin(
    {
      oid,
      cstId: session.cstId,
      payerId: key.payerId,
      payType: session.payType,
      amount: session.total ?? 0,
      origin: 'windowPay',
      goods: session.goods,
      payer: session.payer,
      isTax: session.isTax,
      taxTotal: session.taxTotal,
      guard: undefined,
    },
    now,
  );
  if (!record) throw new Error('OID claimed between check and begin');
  const codes = {
    success: windowCodes.success,
    declined: simple.declined,
    noAnswer: confirmCodes.noAnswer[session.payType],
  };
  const result = await executeCharge(core, record, key, codes, options);
  if (!record.charged) core.ledger.discardBillingKey(key.payerId);
  const fields = {
    ...baseFields(core, session, result.status),
    ...paymentFields(core, record, key),
    PCD_PAYER_ID: record.charged ? key.payerId : '',
    ...(record.charged ? registrationFields(key) : {}),
  };
  emitChargeWebhook(core, 'window', record, key, result, { PCD_PAY_WORK: 'PAY' });
  return { reply: postResult(session.rstUrl, fields), onDelivered: deliveryRecorder(record) };
}

function emitWindowWebhook(
  core: SandboxCore,
  session: WindowSession,
  payerId: string,
  fields: Record<string, string>,
): void {
  core.webhooks.emit({
    operation: 'window',
    payType: session.payType,
    oid: fields['PCD_PAY_OID'] === '' ? undefined : fields['PCD_PAY_OID'],
    payerId,
    body: { PCD_CST_ID: session.cstId, ...fields },
  });
}
