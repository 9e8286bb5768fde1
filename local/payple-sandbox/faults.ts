/**
 * Fault injection. A fault is an effect plus a match: it applies to the next `times` matching
 * requests (or webhooks), or to every match until removed when `times` is omitted. The first
 * matching fault wins; a request takes at most one request fault, a webhook one webhook fault.
 */
import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import type { PayType } from './codes.ts';

/**
 * Operations a fault can match. `charge` is a billing-key charge on either route, `window` is a
 * window submission, `keyTerminated` only ever produces webhooks (a key ended in Payple's admin).
 */
export const operations = [
  'auth',
  'charge',
  'lookup',
  'userInfo',
  'userDel',
  'cancel',
  'certConfirm',
  'window',
  'keyTerminated',
] as const;
export type Operation = (typeof operations)[number];

const matchShape = {
  /** Only requests (or webhooks) of this operation; any when omitted. */
  operation: z.enum(operations).optional(),
  payType: z.enum(['card', 'transfer']).optional(),
  /** Only requests (or webhooks) carrying this PCD_PAY_OID. */
  oid: z.string().min(1).optional(),
  /** Only requests (or webhooks) carrying this billing key. */
  payerId: z.string().min(1).optional(),
  /** Apply to the next N matches, then disappear; a standing rule when omitted. */
  times: z.number().int().positive().optional(),
};

const ms = z.number().int().nonnegative().max(600_000);

/** Validates fault specs arriving over the admin API (and in-process, for the same errors). */
export const faultSpecSchema = z.discriminatedUnion('kind', [
  /** Answer late; for a charge the attempt is "processing" (OID claimed) during the wait. */
  z.strictObject({ kind: z.literal('latency'), ms, ...matchShape }),
  /**
   * Hold the socket and never answer, until the client gives up or the sandbox stops. With
   * `execute: true` the operation still happens (the dangerous case); by default it does not.
   */
  z.strictObject({ kind: z.literal('noAnswer'), execute: z.boolean().optional(), ...matchShape }),
  /** Answer an HTTP 5xx page (default 500); `execute: true` runs the operation first. */
  z.strictObject({
    kind: z.literal('httpError'),
    status: z.number().int().min(500).max(599).optional(),
    execute: z.boolean().optional(),
    ...matchShape,
  }),
  /** Answer 200 with an unparseable body; the operation runs unless `execute: false`. */
  z.strictObject({ kind: z.literal('garbage'), execute: z.boolean().optional(), ...matchShape }),
  /** The operation runs (a charge is recorded), then the connection is reset or answered 502. */
  z.strictObject({
    kind: z.literal('answerLost'),
    via: z.enum(['reset', 'badGateway']).optional(),
    ...matchShape,
  }),
  /** A charge answers SPCD1001 / RPCD1001 (card) or CPAY0018 (transfer); `charged` says if money moved. */
  z.strictObject({ kind: z.literal('cardCompanyNoAnswer'), charged: z.boolean(), ...matchShape }),
  /** Hold the webhook for `ms` (or until `admin.releaseWebhooks()`). */
  z.strictObject({ kind: z.literal('webhookDelay'), ms, ...matchShape }),
  /** Deliver the webhook `copies` times in all (default 2). */
  z.strictObject({
    kind: z.literal('webhookDuplicate'),
    copies: z.number().int().min(2).max(10).optional(),
    ...matchShape,
  }),
  /** Never deliver the webhook (recorded as dropped). */
  z.strictObject({ kind: z.literal('webhookDrop'), ...matchShape }),
]);

export type FaultSpec = z.infer<typeof faultSpecSchema>;
export type FaultKind = FaultSpec['kind'];

/** A fault as stored: its spec, id, and how many more matches it applies to. */
export type Fault = FaultSpec & { readonly id: string; remaining: number | undefined; hits: number };

export type RequestFault = Extract<
  Fault,
  { kind: 'latency' | 'noAnswer' | 'httpError' | 'garbage' | 'answerLost' | 'cardCompanyNoAnswer' }
>;
export type WebhookFault = Extract<Fault, { kind: 'webhookDelay' | 'webhookDuplicate' | 'webhookDrop' }>;

/** What is known about a request or webhook when faults are matched. */
export interface FaultContext {
  readonly operation: Operation;
  readonly payType?: PayType | undefined;
  readonly oid?: string | undefined;
  readonly payerId?: string | undefined;
  /** Whether this request would charge money (only those take `cardCompanyNoAnswer`). */
  readonly charges?: boolean;
}

function isWebhookFault(fault: Fault): fault is WebhookFault {
  return fault.kind === 'webhookDelay' || fault.kind === 'webhookDuplicate' || fault.kind === 'webhookDrop';
}

function matches(fault: Fault, context: FaultContext): boolean {
  return (
    (fault.operation === undefined || fault.operation === context.operation) &&
    (fault.payType === undefined || fault.payType === context.payType) &&
    (fault.oid === undefined || fault.oid === context.oid) &&
    (fault.payerId === undefined || fault.payerId === context.payerId)
  );
}

export class Faults {
  #faults: Fault[] = [];

  /** Validates and adds a fault; throws a ZodError for an invalid spec. */
  add(spec: unknown): Fault {
    const parsed = faultSpecSchema.parse(spec);
    const fault: Fault = { ...parsed, id: randomUUID(), remaining: parsed.times, hits: 0 };
    this.#faults.push(fault);
    return fault;
  }

  list(): Fault[] {
    return this.#faults.map((fault) => ({ ...fault }));
  }

  remove(id: string): boolean {
    const before = this.#faults.length;
    this.#faults = this.#faults.filter((fault) => fault.id !== id);
    return this.#faults.length !== before;
  }

  clear(): void {
    this.#faults = [];
  }

  /** Takes (and counts) the first request fault matching the request. */
  takeRequestFault(context: FaultContext): RequestFault | undefined {
    const fault = this.#faults.find(
      (candidate): candidate is RequestFault =>
        !isWebhookFault(candidate) &&
        (candidate.kind !== 'cardCompanyNoAnswer' || context.charges === true) &&
        matches(candidate, context),
    );
    return fault && this.#consume(fault);
  }

  /** Takes (and counts) the first webhook fault matching the webhook. */
  takeWebhookFault(context: FaultContext): WebhookFault | undefined {
    const fault = this.#faults.find(
      (candidate): candidate is WebhookFault => isWebhookFault(candidate) && matches(candidate, context),
    );
    return fault && this.#consume(fault);
  }

  #consume<T extends Fault>(fault: T): T {
    fault.hits += 1;
    if (fault.remaining !== undefined) {
      fault.remaining -= 1;
      if (fault.remaining === 0) this.remove(fault.id);
    }
    return { ...fault };
  }
}
