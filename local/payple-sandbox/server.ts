/**
 * The HTTP face of the sandbox: routes each request to its operation, applies the fault (if any)
 * around it, writes the answer and records whether it reached the caller.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { SandboxAdmin } from './admin.ts';
import { handleAdmin } from './admin-http.ts';
import type { PayType } from './codes.ts';
import { SandboxStoppedError, type SandboxCore } from './core.ts';
import type { FaultContext, Operation, RequestFault } from './faults.ts';
import {
  BodyTooLargeError,
  contentTypeIs,
  htmlReply,
  jsonReply,
  parseForm,
  parseJsonObject,
  readBody,
  type Reply,
} from './http.ts';
import { auth } from './operations/auth.ts';
import { cancel } from './operations/cancel.ts';
import { confirm } from './operations/cert.ts';
import { charge } from './operations/charge.ts';
import type { OperationResult, ServerCall } from './operations/common.ts';
import { lookup } from './operations/lookup.ts';
import { userDel, userInfo } from './operations/payer.ts';
import { openWindow, submitWindow, windowOf } from './operations/window.ts';
import { errorPage, paypleScript } from './window-html.ts';

interface ServerRoute {
  readonly operation: Operation;
  readonly payType: PayType | undefined;
  readonly run: (core: SandboxCore, call: ServerCall) => OperationResult | Promise<OperationResult>;
}

/** Server-to-server endpoints by path, at the paths `return_url` hands out. */
function serverRoute(url: URL): ServerRoute | undefined {
  const act = url.searchParams.get('ACT_');
  switch (url.pathname) {
    case '/php/auth.php':
      return { operation: 'auth', payType: undefined, run: auth };
    case '/php/SimplePayCardAct.php':
      return {
        operation: 'charge',
        payType: 'card',
        run: (core, call) => charge(core, call, 'simple', 'card'),
      };
    case '/php/SimplePayAct.php':
      return {
        operation: 'charge',
        payType: 'transfer',
        run: (core, call) => charge(core, call, 'simple', 'transfer'),
      };
    case '/php/RePayCardAct.php':
      return {
        operation: 'charge',
        payType: 'card',
        run: (core, call) => charge(core, call, 'regular', 'card'),
      };
    case '/php/RePayAct.php':
      return {
        operation: 'charge',
        payType: 'transfer',
        run: (core, call) => charge(core, call, 'regular', 'transfer'),
      };
    case '/php/PayChkAct.php':
      return { operation: 'lookup', payType: undefined, run: lookup };
    case '/php/cPayUser/api/cPayUserAct.php':
      if (act === 'PUSERINFO') return { operation: 'userInfo', payType: undefined, run: userInfo };
      if (act === 'PUSERDEL') return { operation: 'userDel', payType: undefined, run: userDel };
      return undefined;
    case '/php/account/api/cPayCAct.php':
      return { operation: 'cancel', payType: undefined, run: cancel };
    case '/php/PayCardConfirmAct.php':
      return { operation: 'certConfirm', payType: 'card', run: (core, call) => confirm(core, call, 'card') };
    case '/php/PayConfirmAct.php':
      return {
        operation: 'certConfirm',
        payType: 'transfer',
        run: (core, call) => confirm(core, call, 'transfer'),
      };
    default:
      return undefined;
  }
}

function stringField(body: Record<string, unknown> | undefined, name: string): string | undefined {
  const value = body?.[name];
  return typeof value === 'string' && value !== '' ? value : undefined;
}

/** A PHP fatal error and a cut-off answer: what an overloaded PHP backend really emits. */
function garbage(reply: Reply | undefined): Reply {
  const cut = reply === undefined ? '' : reply.body.slice(0, Math.max(1, Math.floor(reply.body.length / 3)));
  return htmlReply(
    `<br />\n<b>Fatal error</b>:  Allowed memory size of 134217728 bytes exhausted in <b>/home/cpay/php/lib/db.php</b> on line <b>212</b><br />\n${cut}`,
  );
}

function gatewayError(status: number): Reply {
  const title =
    status === 502 ? '502 Bad Gateway' : status === 504 ? '504 Gateway Time-out' : `${status} Server Error`;
  return htmlReply(
    `<html>\n<head><title>${title}</title></head>\n<body>\n<center><h1>${title}</h1></center>\n</body>\n</html>\n`,
    status,
  );
}

type Runner = (options: {
  delayMs: number;
  noAnswer: { charged: boolean } | undefined;
}) => Promise<OperationResult>;

export class SandboxServer {
  /** Responses held open by `noAnswer` faults, destroyed on stop. */
  readonly #held = new Set<ServerResponse>();

  constructor(
    private readonly core: SandboxCore,
    private readonly admin: SandboxAdmin,
  ) {}

  /** The node:http request listener. Never throws: every failure becomes an answer or a reset. */
  readonly listener = (request: IncomingMessage, response: ServerResponse): void => {
    void this.#handle(request, response).catch((error: unknown) => {
      if (error instanceof SandboxStoppedError) {
        response.destroy();
        return;
      }
      if (error instanceof BodyTooLargeError) {
        this.#send(
          response,
          jsonReply({ PCD_PAY_RST: 'error', PCD_PAY_CODE: '', PCD_PAY_MSG: error.message }, 413),
        );
        return;
      }
      console.error('payple sandbox: unexpected error', error);
      if (response.headersSent) response.destroy();
      else
        this.#send(
          response,
          jsonReply({ PCD_PAY_RST: 'error', PCD_PAY_CODE: '', PCD_PAY_MSG: 'sandbox error' }, 500),
        );
    });
  };

  async #handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const { core } = this;
    const url = new URL(request.url ?? '/', core.url);
    const method = request.method ?? 'GET';
    if (url.pathname === '/__sandbox' || url.pathname.startsWith('/__sandbox/')) {
      const body = await readBody(request);
      this.#send(response, await handleAdmin(this.admin, method, url, body));
      return;
    }
    if (method === 'GET' && url.pathname === '/js/cpay.payple.1.0.1.js') {
      this.#send(response, {
        status: 200,
        headers: { 'content-type': 'text/javascript; charset=utf-8' },
        body: paypleScript,
      });
      return;
    }
    if (method === 'GET' && url.pathname.startsWith('/receipt/')) {
      this.#send(response, this.#receipt(url.pathname.slice('/receipt/'.length)));
      return;
    }
    if (url.pathname === '/index.php' && (method === 'GET' || method === 'POST')) {
      const body = method === 'POST' ? await readBody(request) : '';
      const form =
        method === 'POST' && contentTypeIs(request, 'application/x-www-form-urlencoded')
          ? parseForm(body)
          : {};
      this.#send(response, openWindow(core, request, { ...Object.fromEntries(url.searchParams), ...form }));
      return;
    }
    if (url.pathname === '/window/submit' && method === 'POST') {
      const body = await readBody(request);
      const form = contentTypeIs(request, 'application/x-www-form-urlencoded') ? parseForm(body) : {};
      const session = windowOf(core, form);
      const context: FaultContext = {
        operation: 'window',
        payType: session?.payType,
        oid: session?.oid,
        charges: session?.work === 'PAY',
      };
      await this.#withFaults(context, response, (options) => submitWindow(core, form, options));
      return;
    }
    const route = serverRoute(url);
    if (!route) {
      this.#send(response, jsonReply({ error: `no Payple endpoint at ${url.pathname}` }, 404));
      return;
    }
    if (method !== 'POST') {
      this.#send(
        response,
        jsonReply({ PCD_PAY_RST: 'error', PCD_PAY_CODE: '', PCD_PAY_MSG: 'POST 로 요청해주세요.' }, 405),
      );
      return;
    }
    const json = parseJsonObject(await readBody(request));
    const reqKey = stringField(json, 'PCD_PAY_REQKEY');
    const context: FaultContext = {
      operation: route.operation,
      payType: route.payType ?? (stringField(json, 'PCD_PAY_TYPE') as PayType | undefined),
      oid:
        stringField(json, 'PCD_PAY_OID') ?? (reqKey === undefined ? undefined : core.certs.get(reqKey)?.oid),
      payerId: stringField(json, 'PCD_PAYER_ID'),
      charges: route.operation === 'charge' || route.operation === 'certConfirm',
    };
    await this.#withFaults(context, response, async (options) =>
      route.run(core, { request, json, delayMs: options.delayMs, noAnswer: options.noAnswer }),
    );
  }

  /** Applies the first matching request fault around the operation. */
  async #withFaults(context: FaultContext, response: ServerResponse, run: Runner): Promise<void> {
    const fault: RequestFault | undefined = this.core.faults.takeRequestFault(context);
    const options = {
      delayMs: fault?.kind === 'latency' ? fault.ms : 0,
      noAnswer: fault?.kind === 'cardCompanyNoAnswer' ? { charged: fault.charged } : undefined,
    };
    const executeLost = async (): Promise<OperationResult> => {
      const result = await run(options);
      result.onDelivered?.(false);
      return result;
    };
    switch (fault?.kind) {
      case 'noAnswer':
        if (fault.execute === true) await executeLost();
        this.#hold(response);
        return;
      case 'httpError':
        if (fault.execute === true) await executeLost();
        this.#send(response, gatewayError(fault.status ?? 500));
        return;
      case 'garbage':
        this.#send(response, garbage(fault.execute === false ? undefined : (await executeLost()).reply));
        return;
      case 'answerLost':
        await executeLost();
        if (fault.via === 'badGateway') this.#send(response, gatewayError(502));
        else response.destroy();
        return;
      default: {
        const result = await run(options);
        this.#send(response, result.reply, result.onDelivered);
      }
    }
  }

  #send(response: ServerResponse, reply: Reply, onDelivered?: (delivered: boolean) => void): void {
    if (response.destroyed || response.socket?.destroyed === true) {
      onDelivered?.(false);
      return;
    }
    if (onDelivered) {
      response.once('finish', () => {
        onDelivered(true);
      });
      response.once('close', () => {
        if (!response.writableFinished) onDelivered(false);
      });
    }
    response.writeHead(reply.status, {
      ...reply.headers,
      'content-length': String(Buffer.byteLength(reply.body)),
    });
    response.end(reply.body);
  }

  #hold(response: ServerResponse): void {
    this.#held.add(response);
    response.once('close', () => this.#held.delete(response));
  }

  #receipt(tradeNum: string): Reply {
    const record = this.core.ledger
      .charges()
      .find((candidate) => candidate.cardTradeNum === tradeNum && tradeNum !== '');
    if (!record) return htmlReply(errorPage('매출전표', '해당 거래를 찾을 수 없습니다.'), 404);
    return htmlReply(
      errorPage(
        '매출전표 (샌드박스)',
        `주문번호 ${record.oid} / 금액 ${record.amount}원 / 승인번호 ${record.cardAuthNo} / ${record.payTime}`,
      ),
    );
  }

  /** Ends held responses (the sockets close with the server). */
  releaseHeld(): void {
    for (const response of this.#held) response.destroy();
    this.#held.clear();
  }
}
