/**
 * A local EventBridge that speaks the one call the engine makes, `PutEvents` (AWS JSON 1.1 over
 * HTTP), so functions use the real `EventBridgeClient` locally. Accepted events are kept in order
 * and handed to subscribers: the local console prints them, tests assert on them. Faults: the next
 * N calls can fail (whole call) or reject their entries (partial failure), as EventBridge can.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface BusEvent {
  readonly id: string;
  readonly eventBusName: string;
  readonly source: string;
  readonly detailType: string;
  readonly detail: unknown;
  readonly time: string;
}

export interface LocalEventBus {
  readonly endpoint: string;
  /** Every accepted event, oldest first. */
  events(): readonly BusEvent[];
  subscribe(listener: (event: BusEvent) => void): () => void;
  /** The next `calls` PutEvents calls fail: `error` as a 500, `reject` by rejecting every entry. */
  failNext(calls: number, how: 'error' | 'reject'): void;
  clear(): void;
  stop(): Promise<void>;
}

interface PutEventsEntry {
  Source?: string;
  DetailType?: string;
  Detail?: string;
  EventBusName?: string;
  Time?: number;
}

async function readJson(request: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  return JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown;
}

function reply(response: ServerResponse, status: number, body: unknown): void {
  response.writeHead(status, { 'content-type': 'application/x-amz-json-1.1' });
  response.end(JSON.stringify(body));
}

export async function startLocalEventBus(options: { port?: number } = {}): Promise<LocalEventBus> {
  const accepted: BusEvent[] = [];
  const listeners = new Set<(event: BusEvent) => void>();
  let faults: { calls: number; how: 'error' | 'reject' } = { calls: 0, how: 'error' };

  const server = createServer((request, response) => {
    void (async () => {
      const target = request.headers['x-amz-target'];
      if (target !== 'AWSEvents.PutEvents') {
        reply(response, 400, {
          __type: 'UnknownOperationException',
          message: `not emulated: ${String(target)}`,
        });
        return;
      }
      let body: { Entries?: PutEventsEntry[] };
      try {
        body = (await readJson(request)) as { Entries?: PutEventsEntry[] };
      } catch {
        reply(response, 400, { __type: 'ValidationException', message: 'body is not JSON' });
        return;
      }
      const entries = Array.isArray(body.Entries) ? body.Entries : [];
      if (entries.length === 0 || entries.length > 10) {
        reply(response, 400, { __type: 'ValidationException', message: 'Entries must hold 1 to 10 events' });
        return;
      }
      if (faults.calls > 0) {
        faults = { ...faults, calls: faults.calls - 1 };
        if (faults.how === 'error') {
          reply(response, 500, { __type: 'InternalException', message: 'injected fault' });
          return;
        }
        reply(response, 200, {
          FailedEntryCount: entries.length,
          Entries: entries.map(() => ({ ErrorCode: 'InternalFailure', ErrorMessage: 'injected fault' })),
        });
        return;
      }
      const results = entries.map((entry) => {
        let detail: unknown;
        try {
          detail = JSON.parse(entry.Detail ?? '');
        } catch {
          return { ErrorCode: 'MalformedDetail', ErrorMessage: 'Detail is not valid JSON' };
        }
        const event: BusEvent = {
          id: randomUUID(),
          eventBusName: entry.EventBusName ?? 'default',
          source: entry.Source ?? '',
          detailType: entry.DetailType ?? '',
          detail,
          time: new Date((entry.Time ?? Date.now() / 1000) * 1000).toISOString(),
        };
        accepted.push(event);
        for (const listener of listeners) listener(event);
        return { EventId: event.id };
      });
      reply(response, 200, {
        FailedEntryCount: results.filter((r) => 'ErrorCode' in r).length,
        Entries: results,
      });
    })();
  });
  await new Promise<void>((resolve) => server.listen(options.port ?? 0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    events: () => [...accepted],
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    failNext(calls, how) {
      faults = { calls, how };
    },
    clear() {
      accepted.length = 0;
    },
    stop: () =>
      new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        server.closeAllConnections();
      }),
  };
}
