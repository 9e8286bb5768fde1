/**
 * Crashes on demand for exactly-once tests: a `BillingStore` and a `ChargeGateway` that wrap the
 * real ones and, at a chosen point, throw `SimulatedCrash` the way a Lambda that died there would
 * look to everything else (the write reached DynamoDB or it did not; Payple charged or it did not).
 */
import type { ChargeGateway } from '../../functions/use-cases/charge-attempt.ts';
import type { BillingStore, Commit, CommitResult } from '../../functions/use-cases/ports.ts';
import type { ChargeInput, ChargeOutcome } from '../../functions/payple/index.ts';

/** The process "died" here: nothing after this point ran. */
export class SimulatedCrash extends Error {
  constructor(where: string) {
    super(`simulated crash ${where}`);
    this.name = 'SimulatedCrash';
  }
}

/** Which commit a fault applies to. */
export type CommitKind = 'claim' | 'settle';

/** The charger's claim creates the payment; every later write expects it in some state. */
export function commitKind(commit: Commit): CommitKind | undefined {
  if (!commit.payment) return undefined;
  return commit.payment.expected === 'new' ? 'claim' : 'settle';
}

export interface CommitFault {
  readonly kind: CommitKind;
  /** `before`: the commit never reaches DynamoDB. `after`: it is written, then the caller dies. */
  readonly crash: 'before' | 'after';
  /** Only commits of this payment; any when omitted. */
  readonly oid?: string;
  /** How many matching commits it applies to; every one when omitted. */
  times?: number;
}

/** What a wrapped store saw: every commit it was asked for, and what became of it. */
export interface CommitRecord {
  readonly kind: CommitKind | undefined;
  readonly oid: string | undefined;
  readonly outcome: 'committed' | 'conflict' | 'crashed';
}

/** A `BillingStore` over the real one that crashes at chosen commits and records every commit. */
export class FaultyBillingStore implements BillingStore {
  readonly #inner: BillingStore;
  readonly #faults: CommitFault[] = [];
  readonly commits: CommitRecord[] = [];
  /** Runs before each commit goes to the store: what another process does at that moment. */
  beforeCommit: ((commit: Commit, kind: CommitKind | undefined) => Promise<void>) | undefined;

  constructor(inner: BillingStore) {
    this.#inner = inner;
  }

  /** Adds a fault; the first matching fault with `times` left applies. */
  crashOn(fault: CommitFault): this {
    this.#faults.push({ ...fault });
    return this;
  }

  clearFaults(): void {
    this.#faults.length = 0;
  }

  getSubscription(subscriptionId: string): ReturnType<BillingStore['getSubscription']> {
    return this.#inner.getSubscription(subscriptionId);
  }

  getPayment(oid: string): ReturnType<BillingStore['getPayment']> {
    return this.#inner.getPayment(oid);
  }

  async commit(commit: Commit): Promise<CommitResult> {
    const kind = commitKind(commit);
    const oid = commit.payment?.next.oid;
    await this.beforeCommit?.(commit, kind);
    const fault = this.#take(kind, oid);
    if (fault?.crash === 'before') {
      this.commits.push({ kind, oid, outcome: 'crashed' });
      throw new SimulatedCrash(`before the ${kind} commit of ${oid}`);
    }
    const result = await this.#inner.commit(commit);
    if (fault?.crash === 'after') {
      this.commits.push({ kind, oid, outcome: 'crashed' });
      throw new SimulatedCrash(`after the ${kind} commit of ${oid}`);
    }
    this.commits.push({ kind, oid, outcome: result.committed ? 'committed' : 'conflict' });
    return result;
  }

  #take(kind: CommitKind | undefined, oid: string | undefined): CommitFault | undefined {
    const fault = this.#faults.find(
      (f) =>
        f.kind === kind && (f.oid === undefined || f.oid === oid) && (f.times === undefined || f.times > 0),
    );
    if (fault?.times !== undefined) fault.times--;
    return fault;
  }
}

/** Where a charger dies around its Payple call. */
export type GatewayCrash = 'before_charge' | 'after_charge';

/**
 * A `ChargeGateway` over the real client that counts charge requests per OID, runs `afterCharge`
 * once Payple answered (a webhook overtaking the charger, say) and can crash around the call.
 */
export class RecordingGateway implements ChargeGateway {
  readonly #inner: ChargeGateway;
  readonly #requests = new Map<string, number>();
  #crash: { where: GatewayCrash; times: number } | undefined;
  afterCharge: ((input: ChargeInput, outcome: ChargeOutcome) => Promise<void>) | undefined;

  constructor(inner: ChargeGateway) {
    this.#inner = inner;
  }

  /** The next `times` charges crash at `where`. */
  crashOn(where: GatewayCrash, times = 1): this {
    this.#crash = { where, times };
    return this;
  }

  /** How many charge requests went to Payple with this OID. */
  requestsFor(oid: string): number {
    return this.#requests.get(oid) ?? 0;
  }

  /** Every OID sent, with its request count. */
  requests(): ReadonlyMap<string, number> {
    return this.#requests;
  }

  async chargeBillingKey(input: ChargeInput): Promise<ChargeOutcome> {
    const crash = this.#takeCrash();
    if (crash === 'before_charge') throw new SimulatedCrash(`before charging ${input.oid}`);
    this.#requests.set(input.oid, this.requestsFor(input.oid) + 1);
    const outcome = await this.#inner.chargeBillingKey(input);
    if (crash === 'after_charge') throw new SimulatedCrash(`after charging ${input.oid}`);
    await this.afterCharge?.(input, outcome);
    return outcome;
  }

  #takeCrash(): GatewayCrash | undefined {
    if (!this.#crash || this.#crash.times <= 0) return undefined;
    this.#crash.times--;
    return this.#crash.where;
  }
}
