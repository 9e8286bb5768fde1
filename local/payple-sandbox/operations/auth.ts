/**
 * Partner auth (`POST /php/auth.php`): checks the partner, its Referer and the purpose flag, and
 * answers the tokens plus the URL the operation must be posted to.
 */
import { authCodes, type PayType } from '../codes.ts';
import type { SandboxCore } from '../core.ts';
import { contentTypeIs, Fields, FieldError, jsonReply, refererHost } from '../http.ts';
import type { TokenPurpose } from '../tokens.ts';
import type { OperationResult, ServerCall } from './common.ts';

/**
 * Where each purpose's operation lives, at the paths observed on Payple's hosts (the simple
 * transfer, regular transfer and window paths are the sandbox's own). Clients must post to the
 * `return_url` they are given, never to a path of their own.
 */
export function operationPath(purpose: TokenPurpose, payType: PayType | undefined): string {
  switch (purpose) {
    case 'window':
      return '/index.php?ACT_=PAYM&CPAYVER=sandbox';
    case 'simpleCharge':
      return payType === 'card' ? '/php/SimplePayCardAct.php?ACT_=PAYM' : '/php/SimplePayAct.php?ACT_=PAYM';
    case 'regularCharge':
      return payType === 'card' ? '/php/RePayCardAct.php?ACT_=PAYM' : '/php/RePayAct.php?ACT_=PAYM';
    case 'userInfo':
      return '/php/cPayUser/api/cPayUserAct.php?ACT_=PUSERINFO';
    case 'userDel':
      return '/php/cPayUser/api/cPayUserAct.php?ACT_=PUSERDEL';
    case 'payCheck':
      return '/php/PayChkAct.php';
    case 'cancel':
      return '/php/account/api/cPayCAct.php';
  }
}

/** The purpose an auth request asks for; more than one purpose flag is a bad request. */
function purposeOf(fields: Fields): TokenPurpose {
  const purposes: TokenPurpose[] = [];
  if (fields.flag('PCD_PAYCANCEL_FLAG')) purposes.push('cancel');
  if (fields.flag('PCD_PAYCHK_FLAG')) purposes.push('payCheck');
  if (fields.flag('PCD_REGULER_FLAG')) purposes.push('regularCharge');
  if (fields.flag('PCD_SIMPLE_FLAG')) purposes.push('simpleCharge');
  const work = fields.optional('PCD_PAY_WORK');
  if (work === 'PUSERINFO') purposes.push('userInfo');
  else if (work === 'PUSERDEL') purposes.push('userDel');
  // A window's own works are harmless at auth; other works (LINKREG, TSREG ...) are not simulated.
  else if (work !== undefined && !['AUTH', 'PAY', 'CERT'].includes(work))
    throw new FieldError('invalid', 'PCD_PAY_WORK');
  if (purposes.length > 1) throw new FieldError('invalid', 'purpose flags');
  return purposes[0] ?? 'window';
}

export function auth(core: SandboxCore, call: ServerCall): OperationResult {
  const serverName = new URL(core.url).host;
  const refuse = (failure: { code: string; text: string }, detail = ''): OperationResult => ({
    reply: jsonReply({
      server_name: serverName,
      result: 'error',
      result_msg: `[${failure.code}] ${failure.text}${detail === '' ? '' : ` (${detail})`}`,
    }),
  });
  if (!contentTypeIs(call.request, 'application/json')) {
    return refuse(authCodes.badRequest, 'Content-Type 은 application/json 이어야 합니다.');
  }
  if (call.json === undefined) return refuse(authCodes.badRequest, '요청 본문이 JSON 객체가 아닙니다.');
  const fields = new Fields(call.json);
  try {
    const cstId = fields.optional('cst_id');
    const partner = cstId === undefined ? undefined : core.partners.get(cstId);
    if (!partner) return refuse(authCodes.unknownPartner);
    if (fields.optional('custKey') !== partner.custKey) return refuse(authCodes.wrongKey);
    // Payple's test host answers AUTH0007 here; live answers AUTH0004, which the sandbox follows.
    if (!core.refererOk(partner, refererHost(call.request))) return refuse(authCodes.referer);
    const purpose = purposeOf(fields);
    const requestedType = fields.optionalOneOf('PCD_PAY_TYPE', ['card', 'transfer'] as const);
    // Payple's own transfer samples authenticate a charge with PCD_SIMPLE_FLAG alone.
    const payType =
      purpose === 'simpleCharge' || purpose === 'regularCharge'
        ? (requestedType ?? 'transfer')
        : requestedType;
    const token = core.tokens.mint(partner.cstId, purpose, payType);
    const path = operationPath(purpose, payType);
    return {
      reply: jsonReply({
        server_name: serverName,
        result: 'success',
        result_msg: '사용자 인증 완료!!',
        cst_id: token.cstToken,
        custKey: token.custKeyToken,
        AuthKey: token.authKey,
        PCD_PAY_HOST: core.url,
        PCD_PAY_URL: path,
        return_url: `${core.url}${path}`,
      }),
    };
  } catch (error) {
    if (error instanceof FieldError) return refuse(authCodes.badRequest, error.message);
    throw error;
  }
}
