/**
 * What every JSON server call (everything but the browser window) shares: the edge checks Payple
 * applies before the operation itself, and the shape operations answer in.
 */
import type { IncomingMessage } from 'node:http';
import { authCodes, errorStatus } from '../codes.ts';
import type { SandboxCore } from '../core.ts';
import { contentTypeIs, FieldError, Fields, jsonReply, refererHost, type Reply } from '../http.ts';
import { refusalText, type Token, type TokenPurpose } from '../tokens.ts';

/** A parsed server call, plus what the fault layer decided for it. */
export interface ServerCall {
  readonly request: IncomingMessage;
  /** The body as a JSON object, or undefined when it is not one. */
  readonly json: Record<string, unknown> | undefined;
  /** Processing time added by a latency fault. */
  readonly delayMs: number;
  /** Set by a `cardCompanyNoAnswer` fault: answer "no answer" and charge or not. */
  readonly noAnswer: { readonly charged: boolean } | undefined;
}

/** A reply, and who wants to know whether it reached the caller (the ledger, for charges). */
export interface OperationResult {
  readonly reply: Reply;
  readonly onDelivered?: (delivered: boolean) => void;
}

/** The validation codes of a route. */
export interface EdgeCodes {
  readonly missing: string;
  readonly invalid: string;
}

/** An operation refused before it did anything. */
export class Refusal extends Error {
  constructor(
    readonly code: string,
    readonly text: string,
    readonly extra: Readonly<Record<string, string>> = {},
  ) {
    super(`[${code}] ${text}`);
  }
}

export function refusalResult(refusal: Refusal): OperationResult {
  return { reply: jsonReply({ ...errorStatus(refusal.code, refusal.text), ...refusal.extra }) };
}

/**
 * Runs an operation, turning refusals and field errors into Payple-style error answers, so no
 * input can crash the sandbox or leave it answering something Payple would not.
 */
export async function answering(
  codes: EdgeCodes,
  operation: () => Promise<OperationResult>,
): Promise<OperationResult> {
  try {
    return await operation();
  } catch (error) {
    if (error instanceof Refusal) return refusalResult(error);
    if (error instanceof FieldError) {
      return refusalResult(
        new Refusal(error.kind === 'missing' ? codes.missing : codes.invalid, error.message),
      );
    }
    throw error;
  }
}

/**
 * Payple's edge: a JSON body (`Content-Type: application/json`) that is an object, sent with a
 * Referer registered for the partner. The partner is known from the AuthKey when there is one.
 */
export function edgeFields(core: SandboxCore, call: ServerCall, codes: EdgeCodes): Fields {
  if (!contentTypeIs(call.request, 'application/json')) {
    throw new Refusal(codes.invalid, 'Content-Type 은 application/json 이어야 합니다.');
  }
  if (call.json === undefined) throw new Refusal(codes.invalid, '요청 본문이 JSON 객체가 아닙니다.');
  // Operations carry tokens (the AuthKey names the partner); the CERT confirm carries the cst_id.
  const cstId = call.json['PCD_CST_ID'];
  const partner =
    core.partnerOfAuthKey(call.json['PCD_AUTH_KEY']) ??
    (typeof cstId === 'string' ? core.partners.get(cstId) : undefined);
  if (!core.refererOk(partner, refererHost(call.request))) {
    throw new Refusal(authCodes.referer.code, authCodes.referer.text);
  }
  return new Fields(call.json);
}

/** Reads and uses the three auth tokens of an operation for one of the given purposes. */
export function useToken(
  core: SandboxCore,
  fields: Fields,
  purposes: readonly TokenPurpose[],
  tokenCode: string,
): Token {
  const presented = {
    cst: fields.required('PCD_CST_ID'),
    custKey: fields.required('PCD_CUST_KEY'),
    authKey: fields.required('PCD_AUTH_KEY'),
  };
  const check = core.tokens.use(presented, purposes);
  if (!check.ok) throw new Refusal(tokenCode, refusalText(check.reason));
  return check.token;
}

/** A field that must be `Y` (PCD_SIMPLE_FLAG, PCD_PAYCHK_FLAG ...). */
export function requireFlag(fields: Fields, name: string): void {
  if (!fields.flag(name)) throw new FieldError('missing', name);
}
