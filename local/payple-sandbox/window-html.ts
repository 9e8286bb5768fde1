/**
 * The payment window's HTML. Deliberately small and accessible: labelled inputs with stable ids
 * and names, so a person, a browser test or a plain `fetch` can drive it.
 *
 * Stable hooks: form `#payple-window` (POST, form-urlencoded) with hidden `session`; input
 * `#card-number` or `#account-number` (name `number`); buttons `#submit` (name `action`, value
 * `submit`) and `#close` (value `close`). The result page's form is `#payple-result`.
 */
import type { WindowSession } from './core.ts';
import { escapeHtml } from './http.ts';
import { testAccounts, testCards, type TestInstrument } from './test-cards.ts';

function page(title: string, body: string): string {
  return `<!doctype html>
<html lang="ko">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}</title>
<style>
body { font-family: system-ui, sans-serif; max-width: 28rem; margin: 2rem auto; padding: 0 1rem; }
label { display: block; margin: 1rem 0 .25rem; font-weight: 600; }
input { font-size: 1.1rem; padding: .4rem; width: 100%; box-sizing: border-box; }
button { font-size: 1rem; padding: .5rem 1rem; margin: 1rem .5rem 0 0; }
[role=alert] { color: #b00020; }
</style>
</head>
<body>
<main>
${body}
</main>
</body>
</html>
`;
}

const WORK_LABEL = { AUTH: '등록', PAY: '등록 및 결제', CERT: '등록 및 결제 요청' } as const;

/** The window a customer fills in. */
export function windowPage(session: WindowSession, error?: string): string {
  const isCard = session.payType === 'card';
  const inputId = isCard ? 'card-number' : 'account-number';
  const table: Record<string, TestInstrument> = isCard ? testCards : testAccounts;
  const numbers = Object.entries(table)
    .map(([name, entry]) => `<li><code>${escapeHtml(entry.number)}</code> ${escapeHtml(name)}</li>`)
    .join('\n');
  const amount =
    session.total === undefined
      ? ''
      : `<p>상품: ${escapeHtml(session.goods)}<br>금액: <strong id="amount">${session.total.toLocaleString('ko-KR')}원</strong></p>`;
  return page(
    'Payple 샌드박스 결제창',
    `<h1>Payple 샌드박스 — ${isCard ? '카드' : '계좌'} ${WORK_LABEL[session.work]}</h1>
${amount}
${error === undefined ? '' : `<p role="alert" id="error">${escapeHtml(error)}</p>`}
<form id="payple-window" method="post" action="/window/submit">
<input type="hidden" name="session" value="${escapeHtml(session.id)}">
<label for="${inputId}">${isCard ? '카드번호' : '계좌번호'}</label>
<input id="${inputId}" name="number" inputmode="numeric" autocomplete="${isCard ? 'cc-number' : 'off'}" required>
<button id="submit" type="submit" name="action" value="submit">${WORK_LABEL[session.work]}</button>
<button id="close" type="submit" name="action" value="close" formnovalidate>닫기</button>
</form>
<details>
<summary>테스트 ${isCard ? '카드' : '계좌'}</summary>
<ul>
${numbers}
</ul>
</details>`,
  );
}

/**
 * Posts the window's result to PCD_RST_URL through the customer's browser, as Payple does: an
 * auto-submitting form, with a button for browsers without scripts.
 */
export function resultPage(rstUrl: string, fields: Readonly<Record<string, string>>): string {
  const inputs = Object.entries(fields)
    .map(([name, value]) => `<input type="hidden" name="${escapeHtml(name)}" value="${escapeHtml(value)}">`)
    .join('\n');
  return page(
    'Payple 샌드박스 결제 결과 전송',
    `<h1>결과를 전송하는 중입니다</h1>
<form id="payple-result" method="post" action="${escapeHtml(rstUrl)}" enctype="application/x-www-form-urlencoded">
${inputs}
<button type="submit">계속</button>
</form>
<script>document.getElementById('payple-result').submit();</script>`,
  );
}

export function errorPage(title: string, message: string): string {
  return page(title, `<h1>${escapeHtml(title)}</h1>\n<p role="alert">${escapeHtml(message)}</p>`);
}

/**
 * A stand-in for Payple's `cpay.payple.1.0.1.js`: `PaypleCpayAuthCheck(obj)` opens the window by
 * posting `obj` to `obj.PCD_PAY_URL` (the return_url of the window auth) in the same tab, i.e.
 * always the "direct" mode. `callbackFunction` is not supported: results go to PCD_RST_URL.
 */
export const paypleScript = `/* Payple sandbox stand-in for cpay.payple.1.0.1.js */
(function () {
  'use strict';
  window.PaypleCpayAuthCheck = function (obj) {
    if (!obj || !obj.PCD_PAY_URL) { alert('PCD_PAY_URL is required'); return; }
    var form = document.createElement('form');
    form.method = 'post';
    form.action = obj.PCD_PAY_URL;
    Object.keys(obj).forEach(function (name) {
      var value = obj[name];
      if (value === undefined || value === null || typeof value === 'function') return;
      var input = document.createElement('input');
      input.type = 'hidden';
      input.name = name;
      input.value = String(value);
      form.appendChild(input);
    });
    document.body.appendChild(form);
    form.submit();
  };
})();
`;
