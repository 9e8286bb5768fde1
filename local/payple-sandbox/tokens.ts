/**
 * Partner-auth tokens. Each auth answer mints three values (a `cst_id` token, a `custKey` token and
 * the `AuthKey`); the operation must carry all three, and they serve only the purpose the auth was
 * made for.
 */
import { randomBytes } from 'node:crypto';
import type { PayType } from './codes.ts';
import type { Clock } from './clock.ts';

/** What a token was minted for: decided by the purpose flag of the auth request. */
export type TokenPurpose =
  'window' | 'simpleCharge' | 'regularCharge' | 'userInfo' | 'userDel' | 'payCheck' | 'cancel';

/** Payple: "파트너 인증요청 후 결제는 30분이내로" and lookup tokens "유효기간은 30분". */
export const TOKEN_TTL_MS = 30 * 60 * 1000;

/**
 * Lookup tokens serve many sequential lookups for 30 minutes (Payple asks for exactly that);
 * everything that moves money or state serves one request, as all of Payple's samples assume.
 */
const REUSABLE: ReadonlySet<TokenPurpose> = new Set<TokenPurpose>(['userInfo', 'payCheck']);

/** A long-running local stack mints a token per charge; expired ones are dropped now and then. */
const PRUNE_AT = 10_000;

export interface Token {
  readonly cstToken: string;
  readonly custKeyToken: string;
  readonly authKey: string;
  readonly purpose: TokenPurpose;
  /** The auth request's PCD_PAY_TYPE, when it had one (charges). */
  readonly payType: PayType | undefined;
  /** The partner's own cst_id. */
  readonly cstId: string;
  readonly issuedAt: number;
  uses: number;
}

/** Why a presented token was refused. */
export type TokenRefusal = 'unknown' | 'mismatch' | 'purpose' | 'expired' | 'used';

export type TokenCheck = { ok: true; token: Token } | { ok: false; reason: TokenRefusal };

/**
 * The values an operation presents: the AuthKey, and the cst_id and custKey tokens of the same auth
 * (server calls send all three; the browser window carries only the AuthKey).
 */
export interface PresentedToken {
  readonly authKey: string;
  readonly cst?: string;
  readonly custKey?: string;
}

function opaque(bytes: number): string {
  return randomBytes(bytes).toString('base64').replace(/=+$/, '');
}

export class TokenStore {
  readonly #byAuthKey = new Map<string, Token>();

  constructor(private readonly clock: Clock) {}

  mint(cstId: string, purpose: TokenPurpose, payType: PayType | undefined): Token {
    if (this.#byAuthKey.size >= PRUNE_AT) this.#pruneExpired();
    const token: Token = {
      cstToken: opaque(24),
      custKeyToken: opaque(24),
      authKey: randomBytes(32).toString('hex'),
      purpose,
      payType,
      cstId,
      issuedAt: this.clock.now(),
      uses: 0,
    };
    this.#byAuthKey.set(token.authKey, token);
    return token;
  }

  /** The token behind an AuthKey, without using it (to learn which partner is calling). */
  peek(authKey: string): Token | undefined {
    return this.#byAuthKey.get(authKey);
  }

  /** Checks a presented token for a purpose and, when it passes, counts the use. */
  use(presented: PresentedToken, purposes: readonly TokenPurpose[]): TokenCheck {
    const token = this.#byAuthKey.get(presented.authKey);
    if (!token) return { ok: false, reason: 'unknown' };
    const cstMismatch = presented.cst !== undefined && presented.cst !== token.cstToken;
    if (cstMismatch || (presented.custKey !== undefined && presented.custKey !== token.custKeyToken)) {
      return { ok: false, reason: 'mismatch' };
    }
    if (!purposes.includes(token.purpose)) return { ok: false, reason: 'purpose' };
    if (this.clock.now() - token.issuedAt >= TOKEN_TTL_MS) return { ok: false, reason: 'expired' };
    if (!REUSABLE.has(token.purpose) && token.uses > 0) return { ok: false, reason: 'used' };
    token.uses += 1;
    return { ok: true, token };
  }

  clear(): void {
    this.#byAuthKey.clear();
  }

  #pruneExpired(): void {
    const now = this.clock.now();
    for (const [authKey, token] of this.#byAuthKey) {
      if (now - token.issuedAt >= TOKEN_TTL_MS) this.#byAuthKey.delete(authKey);
    }
  }
}

/** Human text for a refusal, in the style of Payple's messages. */
export function refusalText(reason: TokenRefusal): string {
  switch (reason) {
    case 'expired':
      return '파트너 인증 토큰의 유효시간(30분)이 만료되었습니다. 파트너 인증을 다시 진행해주세요.';
    case 'used':
      return '이미 사용된 파트너 인증 토큰입니다. 요청마다 파트너 인증을 진행해주세요.';
    case 'purpose':
      return '다른 용도로 발급된 파트너 인증 토큰입니다.';
    case 'mismatch':
      return '파트너 인증 토큰(cst_id, custKey)이 일치하지 않습니다.';
    case 'unknown':
      return '유효하지 않은 파트너 인증 토큰입니다.';
  }
}
