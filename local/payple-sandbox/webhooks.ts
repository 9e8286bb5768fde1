/**
 * Webhooks: Payple POSTs each result (charges, CERT confirms, window payments and registrations,
 * cancellations, keys ended in its admin) as JSON to the partner's registered URL. Payple
 * documents no retry, so the sandbox makes one attempt per copy and records the outcome; faults
 * can delay, duplicate or drop a delivery.
 */
import { randomUUID } from 'node:crypto';
import type { Clock } from './clock.ts';
import type { PayType } from './codes.ts';
import type { Faults, Operation } from './faults.ts';

/** Payple expects the partner to answer within 10 seconds. */
const DELIVERY_TIMEOUT_MS = 10_000;

export type WebhookStatus =
  /** Waiting to be sent, or being sent. */
  | 'pending'
  /** Held by a `webhookDelay` fault until its time passes or `releaseWebhooks()`. */
  | 'delayed'
  /** The receiver answered 2xx. */
  | 'delivered'
  /** The receiver answered non-2xx, timed out or refused the connection. */
  | 'failed'
  /** Dropped by a `webhookDrop` fault: never sent. */
  | 'dropped'
  /** No webhook URL was set when the event happened. */
  | 'noUrl'
  /** The sandbox stopped before it was sent. */
  | 'cancelled';

export interface WebhookDelivery {
  readonly id: string;
  /** The operation whose result this is. */
  readonly operation: Operation;
  readonly oid: string | undefined;
  readonly payerId: string | undefined;
  readonly body: Readonly<Record<string, string>>;
  /** 1 for the original, 2.. for duplicates. */
  readonly copy: number;
  readonly url: string | undefined;
  /** Clock time of the event. */
  readonly createdAt: number;
  status: WebhookStatus;
  httpStatus?: number;
  error?: string;
}

export interface WebhookEvent {
  readonly operation: Operation;
  readonly payType: PayType | undefined;
  readonly oid: string | undefined;
  readonly payerId: string | undefined;
  readonly body: Record<string, string>;
}

export class Webhooks {
  url: string | undefined;
  readonly #deliveries: WebhookDelivery[] = [];
  readonly #inFlight = new Set<Promise<void>>();
  readonly #delayed = new Map<string, { timer: NodeJS.Timeout; release: () => void }>();
  readonly #abort = new AbortController();

  constructor(
    private readonly faults: Faults,
    private readonly clock: Clock,
    url: string | undefined,
  ) {
    this.url = url;
  }

  /** Records the event's deliveries and starts sending them in the background. */
  emit(event: WebhookEvent): void {
    if (this.#abort.signal.aborted) return;
    const fault = this.faults.takeWebhookFault(event);
    const copies = fault?.kind === 'webhookDuplicate' ? (fault.copies ?? 2) : 1;
    const deliveries: WebhookDelivery[] = [];
    for (let copy = 1; copy <= copies; copy += 1) {
      const delivery: WebhookDelivery = {
        id: randomUUID(),
        operation: event.operation,
        oid: event.oid,
        payerId: event.payerId,
        body: { ...event.body },
        copy,
        url: this.url,
        createdAt: this.clock.now(),
        status: 'pending',
      };
      if (delivery.url === undefined) delivery.status = 'noUrl';
      else if (fault?.kind === 'webhookDrop') delivery.status = 'dropped';
      else if (fault?.kind === 'webhookDelay') delivery.status = 'delayed';
      this.#deliveries.push(delivery);
      deliveries.push(delivery);
    }
    const sendable = deliveries.filter((d) => d.status === 'pending' || d.status === 'delayed');
    if (sendable.length === 0) return;
    this.#track(this.#sendAll(sendable, fault?.kind === 'webhookDelay' ? fault.ms : 0));
  }

  /** Every delivery so far, oldest first. */
  deliveries(): WebhookDelivery[] {
    return this.#deliveries.map((delivery) => ({ ...delivery }));
  }

  /** Sends every delayed webhook now instead of waiting for its delay. */
  release(): void {
    for (const { timer, release } of this.#delayed.values()) {
      clearTimeout(timer);
      release();
    }
    this.#delayed.clear();
  }

  /** Resolves when no delivery is pending or delayed (call `release()` first to skip delays). */
  async idle(): Promise<void> {
    while (this.#inFlight.size > 0) await Promise.allSettled([...this.#inFlight]);
  }

  /** Cancels delayed and in-flight deliveries; nothing is sent afterwards. */
  async stop(): Promise<void> {
    this.#abort.abort();
    this.release();
    await this.idle();
  }

  clear(): void {
    this.#deliveries.length = 0;
  }

  #track(work: Promise<void>): void {
    this.#inFlight.add(work);
    void work.finally(() => this.#inFlight.delete(work));
  }

  async #sendAll(deliveries: WebhookDelivery[], delayMs: number): Promise<void> {
    if (delayMs > 0) await this.#wait(delayMs);
    for (const delivery of deliveries) await this.#send(delivery);
  }

  #wait(delayMs: number): Promise<void> {
    return new Promise((resolve) => {
      const id = randomUUID();
      const release = (): void => {
        this.#delayed.delete(id);
        resolve();
      };
      this.#delayed.set(id, { timer: setTimeout(release, delayMs), release });
    });
  }

  #stopped(): boolean {
    return this.#abort.signal.aborted;
  }

  async #send(delivery: WebhookDelivery): Promise<void> {
    if (this.#stopped() || delivery.url === undefined) {
      delivery.status = 'cancelled';
      return;
    }
    delivery.status = 'pending';
    try {
      const response = await fetch(delivery.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json; charset=utf-8' },
        body: JSON.stringify(delivery.body),
        signal: AbortSignal.any([this.#abort.signal, AbortSignal.timeout(DELIVERY_TIMEOUT_MS)]),
      });
      await response.body?.cancel();
      delivery.httpStatus = response.status;
      delivery.status = response.ok ? 'delivered' : 'failed';
    } catch (error) {
      delivery.status = this.#stopped() ? 'cancelled' : 'failed';
      delivery.error = error instanceof Error ? error.message : String(error);
    }
  }
}
