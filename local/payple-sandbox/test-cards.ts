/**
 * The sandbox's test cards and bank accounts: the number a test registers decides what every later
 * charge on that billing key answers, the way Payple's test cards do on a real test host.
 *
 * How a client is expected to classify each answer (the whole point of the table):
 *
 * | name | answer | client verdict |
 * |---|---|---|
 * | card `success`, account `success` | `PCD_PAY_RST=success`, `SPCD0000` | paid |
 * | card `insufficientFunds` (3133), `limitExceeded` (3112); account `insufficientFunds` (1000), `maintenance` (xxxx9998) | `error`, issuer code in `PCD_PAY_MSG` | soft decline: retry later on the dunning schedule |
 * | card `expired` (3100), `terminated` (3146), `lostOrStolen` (3122); account `closed` (1003) | `error`, issuer code in `PCD_PAY_MSG` | hard decline: needs a new billing key, never retried automatically |
 * | card `cardCompanyNoAnswer` (`SPCD1001`), account `resultNotReceived` (`CPAY0018`) | `error` | UNKNOWN: the sandbox DID charge (`charged: true`); resolve by webhook or result lookup with the same OID, never charge again with a new OID |
 * | card `slow` | success after `slowDelayMs` (default 20 s) | paid if the client waits; a client that times out first must treat it as UNKNOWN and will find it paid by lookup |
 *
 * Decline answers follow Payple's shape: `PCD_PAY_CODE` is Payple's own code and `PCD_PAY_MSG`
 * reads `[test] [<Payple code>] <issuer code> - <issuer text>` (test-host messages start with
 * `[test]`; live ones like `[PCCFD001] 1062 - 할부거래 사용불가 카드`). Payple's code table for issuer
 * declines on billing-key charges is not published; the sandbox uses `SPCD0099` for card and
 * `SPAY0099` for transfer declines on the `PCD_SIMPLE_FLAG` route and `RPCD0099`/`RPAY0099` on the
 * monthly-guarded `PCD_REGULER_FLAG` route (the prefix follows the route, as Payple's documented
 * codes do). A client must classify by the issuer code in the message and must treat a code it does
 * not know as a soft decline, never as paid.
 *
 * A card or account number that is not in these tables registers and charges like `success`, so a
 * person trying the local stack with any number gets the happy path.
 */

/** What the sandbox's ledger records when a charge on this number is attempted. */
export type TestOutcome =
  /** Approved: the ledger records a charge and the answer says so. */
  | 'approved'
  /** Declined by the issuer or bank: nothing is charged and the answer says so. */
  | 'declined'
  /** The answer is an error that does not say whether money moved; the sandbox charged (`charged`). */
  | 'unknown';

/** How a correct client classifies the answer; tests of the client assert this. */
export type ExpectedClassification = 'paid' | 'soft' | 'hard' | 'unknown';

export interface TestInstrument {
  /** Card number (16 digits) or bank account number, digits only, as typed into the window. */
  readonly number: string;
  readonly outcome: TestOutcome;
  /** Whether the sandbox's ledger records money taken when a charge is attempted. */
  readonly charged: boolean;
  readonly classification: ExpectedClassification;
  /** `PCD_PAY_CODE` answered on the `PCD_SIMPLE_FLAG` charge route. */
  readonly code: string;
  /** The issuer's (card company's or bank's) own code carried inside `PCD_PAY_MSG`, if any. */
  readonly issuerCode?: string;
  /** `PCD_PAY_MSG` answered on the `PCD_SIMPLE_FLAG` charge route. */
  readonly message: string;
  /** Answer after this long instead of at once (the `slow` card); overridable per sandbox. */
  readonly delayMs?: number;
}

/** Default answer delay of the `slow` card: longer than any sane client timeout (10-15 s). */
export const DEFAULT_SLOW_DELAY_MS = 20_000;

function decline(
  number: string,
  classification: 'soft' | 'hard',
  code: string,
  issuerCode: string,
  text: string,
): TestInstrument {
  return {
    number,
    outcome: 'declined',
    charged: false,
    classification,
    code,
    issuerCode,
    message: `[test] [${code}] ${issuerCode} - ${text}`,
  };
}

/** Test cards by stable name. Register one in the window (or with `admin.createBillingKey`). */
export const testCards = {
  success: {
    number: '9410000000000001',
    outcome: 'approved',
    charged: true,
    classification: 'paid',
    code: 'SPCD0000',
    message: '카드결제완료',
  },
  insufficientFunds: decline('9410000000003133', 'soft', 'SPCD0099', '3133', '잔액부족'),
  limitExceeded: decline('9410000000003112', 'soft', 'SPCD0099', '3112', '한도초과'),
  expired: decline('9410000000003100', 'hard', 'SPCD0099', '3100', '유효기간 경과 카드'),
  terminated: decline('9410000000003146', 'hard', 'SPCD0099', '3146', '해지된 카드'),
  lostOrStolen: decline('9410000000003122', 'hard', 'SPCD0099', '3122', '분실 또는 도난 카드'),
  cardCompanyNoAnswer: {
    number: '9410000000001001',
    outcome: 'unknown',
    // The dangerous case on purpose: the issuer approved, the answer never reached Payple.
    charged: true,
    classification: 'unknown',
    code: 'SPCD1001',
    message: '[test] [SPCD1001] 카드사 응답없음',
  },
  slow: {
    number: '9410000000000020',
    outcome: 'approved',
    charged: true,
    classification: 'paid',
    code: 'SPCD0000',
    message: '카드결제완료',
    delayMs: DEFAULT_SLOW_DELAY_MS,
  },
} as const satisfies Record<string, TestInstrument>;

/** Test bank accounts by stable name (`PCD_PAY_TYPE=transfer`). */
export const testAccounts = {
  success: {
    number: '1002000000001',
    outcome: 'approved',
    charged: true,
    classification: 'paid',
    code: 'SPCD0000',
    message: '출금완료',
  },
  insufficientFunds: decline('1002000001000', 'soft', 'SPAY0099', '1000', '잔액부족'),
  closed: decline('1002000001003', 'hard', 'SPAY0099', '1003', '해지된 계좌'),
  maintenance: decline('1002000009998', 'soft', 'SPAY0099', '00209998', '은행 점검시간'),
  resultNotReceived: {
    number: '1002000000018',
    outcome: 'unknown',
    // Money left the account; the bank's answer did not reach Payple.
    charged: true,
    classification: 'unknown',
    code: 'CPAY0018',
    message: '[test] [CPAY0018] 결과 미수신',
  },
} as const satisfies Record<string, TestInstrument>;

export type TestCardName = keyof typeof testCards;
export type TestAccountName = keyof typeof testAccounts;
