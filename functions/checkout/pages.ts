/**
 * The HTML the checkout function serves: the subscribe page (and its replace-payment-method
 * variant) and the default result pages. Plain HTML, one small script, no framework.
 *
 * Safe by default: every interpolated value goes through `escapeHtml`; the page's own script and
 * style carry a per-response nonce and the Content-Security-Policy allows nothing else but Payple's
 * script host (the window script, and the window it opens); nothing secret is in the page.
 */
import { randomBytes } from 'node:crypto';
import type { FirstPaymentMode, PayType, PlanInterval, PlanOffer } from '../billing/index.ts';

export function escapeHtml(value: string): string {
  return value
    .replaceAll('&', '&amp;')
    .replaceAll('<', '&lt;')
    .replaceAll('>', '&gt;')
    .replaceAll('"', '&quot;')
    .replaceAll("'", '&#39;');
}

export interface PageContext {
  /** Where the API is reached (`PUBLIC_BASE_URL`): the form posts to `{base}/checkout`. */
  readonly publicBaseUrl: string;
  /** Payple's host (`PAYPLE_HOST`): its `/js/cpay.payple.1.0.1.js` opens the window. */
  readonly paypleHost: string;
}

export interface HtmlPage {
  readonly status: number;
  readonly body: string;
  readonly headers: Record<string, string>;
}

/** The origins Payple's script, its window and its assets may come from. */
function paypleOrigins(paypleHost: string): string[] {
  const url = new URL(paypleHost);
  // Payple's live script may load from its other hosts; the sandbox (or a double) is one origin.
  return url.hostname.endsWith('.payple.kr') ? [url.origin, 'https://*.payple.kr'] : [url.origin];
}

function securityHeaders(context: PageContext, nonce: string): Record<string, string> {
  const payple = paypleOrigins(context.paypleHost).join(' ');
  const api = new URL(context.publicBaseUrl).origin;
  const csp = [
    "default-src 'none'",
    `script-src 'nonce-${nonce}' ${payple}`,
    `style-src 'nonce-${nonce}' ${payple}`,
    `img-src 'self' data: ${payple}`,
    `connect-src ${api} ${payple}`,
    `frame-src ${payple}`,
    // The window opens by a form post to Payple's PCD_PAY_URL.
    `form-action ${api} ${payple}`,
    "base-uri 'none'",
    "frame-ancestors 'none'",
  ].join('; ');
  return {
    'content-type': 'text/html; charset=utf-8',
    'content-security-policy': csp,
    'x-content-type-options': 'nosniff',
    'x-frame-options': 'DENY',
    // Payple checks the page that opens its window by its origin; nothing more leaves the page.
    'referrer-policy': 'strict-origin-when-cross-origin',
    'cache-control': 'no-store',
  };
}

const STYLE = `
:root { color-scheme: light; --accent: #1a56db; --error: #b42318; --muted: #555; --line: #d0d5dd; }
* { box-sizing: border-box; }
body { font-family: system-ui, -apple-system, "Apple SD Gothic Neo", "Noto Sans KR", sans-serif;
  margin: 0; background: #f6f7f9; color: #1d2939; line-height: 1.5; }
main { max-width: 40rem; margin: 2rem auto; padding: 1.5rem; background: #fff; border-radius: 12px;
  box-shadow: 0 1px 3px rgba(16, 24, 40, .1); }
h1 { font-size: 1.6rem; margin: 0 0 .25rem; }
.en { color: var(--muted); font-weight: 400; }
h1 .en { display: block; font-size: 1rem; }
p.lead { margin: 0 0 1.5rem; color: var(--muted); }
fieldset { border: 0; padding: 0; margin: 0 0 1.5rem; }
legend { font-weight: 700; font-size: 1.1rem; margin-bottom: .5rem; padding: 0; }
.choice { position: relative; margin-bottom: .5rem; }
.choice input { position: absolute; left: 1rem; top: 1.15rem; width: 1.1rem; height: 1.1rem; margin: 0; }
.choice label { display: block; padding: .85rem 1rem .85rem 2.75rem; border: 1px solid var(--line);
  border-radius: 8px; cursor: pointer; }
.choice input:checked + label { border-color: var(--accent); box-shadow: 0 0 0 1px var(--accent); }
.choice input:focus-visible + label { outline: 3px solid #84adff; outline-offset: 2px; }
.choice input:disabled + label { opacity: .45; cursor: not-allowed; }
.plan-name { font-weight: 700; display: block; }
.plan-price { display: block; font-size: 1.05rem; }
.plan-note { display: block; color: var(--muted); font-size: .9rem; }
.inline { display: flex; gap: .5rem; flex-wrap: wrap; }
.inline .choice { flex: 1 1 12rem; }
.field { margin-bottom: 1rem; }
.field label { display: block; font-weight: 600; margin-bottom: .25rem; }
.field input { width: 100%; font-size: 1rem; padding: .6rem .7rem; border: 1px solid var(--line); border-radius: 6px; }
.field input:focus-visible { outline: 3px solid #84adff; outline-offset: 1px; }
.field input[aria-invalid="true"] { border-color: var(--error); }
.hint { display: block; color: var(--muted); font-size: .875rem; }
.field-error { display: block; color: var(--error); font-size: .875rem; }
.field-error:empty { display: none; }
.required { color: var(--error); }
button { font: inherit; font-weight: 700; width: 100%; padding: .85rem 1rem; border: 0; border-radius: 8px;
  background: var(--accent); color: #fff; cursor: pointer; }
button:disabled { background: #98a2b3; cursor: progress; }
button:focus-visible { outline: 3px solid #84adff; outline-offset: 2px; }
#form-error { color: var(--error); font-weight: 600; }
#form-error:empty, #form-status:empty { display: none; }
.notice { padding: .75rem 1rem; border-radius: 8px; background: #fef3f2; color: var(--error); }
.result-success { color: #067647; }
a { color: var(--accent); }
`;

/**
 * The page's only script: keeps the pay type choices to what the selected plan offers, posts the
 * form as JSON to /checkout, shows field errors, and opens Payple's window with the answer.
 */
const SCRIPT = `
(function () {
  'use strict';
  var form = document.getElementById('subscribe-form');
  if (!form) return;
  var button = document.getElementById('subscribe-button');
  var statusEl = document.getElementById('form-status');
  var errorEl = document.getElementById('form-error');
  var payTypes = Array.prototype.slice.call(form.querySelectorAll('input[name="payType"]'));
  var plans = Array.prototype.slice.call(form.querySelectorAll('input[name="planId"]'));

  function offeredPayTypes() {
    var plan = form.querySelector('input[name="planId"]:checked');
    return ((plan || form).getAttribute('data-pay-types') || '').split(' ');
  }
  function syncPayTypes() {
    var offered = offeredPayTypes();
    var keep = null;
    payTypes.forEach(function (input) {
      input.disabled = offered.indexOf(input.value) === -1;
      if (input.disabled) input.checked = false;
      if (!keep && input.checked) keep = input;
    });
    if (!keep) {
      var first = payTypes.filter(function (input) { return !input.disabled; })[0];
      if (first) first.checked = true;
    }
  }
  plans.forEach(function (input) { input.addEventListener('change', syncPayTypes); });
  syncPayTypes();

  function clearErrors() {
    errorEl.textContent = '';
    Array.prototype.forEach.call(form.querySelectorAll('.field-error'), function (el) { el.textContent = ''; });
    Array.prototype.forEach.call(form.querySelectorAll('[aria-invalid]'), function (el) {
      el.removeAttribute('aria-invalid');
    });
  }
  function showFieldErrors(fieldErrors) {
    var first = null;
    Object.keys(fieldErrors).forEach(function (field) {
      var id = field.replace(/\\./g, '-');
      var message = document.getElementById('error-' + id);
      var input = document.getElementById('input-' + id);
      if (message) message.textContent = fieldErrors[field].join(' ');
      if (input) {
        input.setAttribute('aria-invalid', 'true');
        if (!first) first = input;
      }
    });
    if (first) first.focus();
  }
  function fail(message) {
    statusEl.textContent = '';
    errorEl.textContent = message;
    button.disabled = false;
  }

  form.addEventListener('submit', function (event) {
    event.preventDefault();
    clearErrors();
    var data = new FormData(form);
    var text = function (name) { var v = data.get(name); return typeof v === 'string' ? v.trim() : ''; };
    var payload = { payType: text('payType'), customer: { name: text('name') } };
    if (text('planId')) payload.planId = text('planId');
    if (text('replaceSubscriptionId')) payload.replaceSubscriptionId = text('replaceSubscriptionId');
    if (text('phone')) payload.customer.phone = text('phone');
    if (text('email')) payload.customer.email = text('email');
    button.disabled = true;
    statusEl.textContent = form.getAttribute('data-text-preparing');
    fetch(form.action, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Accept: 'application/json' },
      body: JSON.stringify(payload),
      credentials: 'same-origin',
    })
      .then(function (response) {
        return response.json().then(function (body) { return { status: response.status, body: body }; });
      })
      .then(function (reply) {
        if (reply.status === 201 && reply.body && reply.body.params) {
          if (typeof window.PaypleCpayAuthCheck !== 'function') {
            fail(form.getAttribute('data-text-no-script'));
            return;
          }
          statusEl.textContent = form.getAttribute('data-text-opening');
          window.PaypleCpayAuthCheck(reply.body.params);
          return;
        }
        if (reply.status === 400 && reply.body && reply.body.fieldErrors) {
          showFieldErrors(reply.body.fieldErrors);
          fail(form.getAttribute('data-text-check-fields'));
          return;
        }
        fail((reply.body && reply.body.message) || form.getAttribute('data-text-failed'));
      })
      .catch(function () { fail(form.getAttribute('data-text-failed')); });
  });
})();
`;

const FIRST_PAYMENT_NOTE: Readonly<Record<FirstPaymentMode, string>> = {
  registration_only:
    '카드·계좌 등록 후 첫 결제가 바로 진행됩니다 <span class="en">· Charged right after you register</span>',
  pay_now: '결제창에서 첫 결제가 진행됩니다 <span class="en">· First payment in the payment window</span>',
  pay_after_confirm:
    '결제창에서 승인 후 확정됩니다 <span class="en">· Approved in the window, then confirmed</span>',
};

function won(amount: number): string {
  return `${amount.toLocaleString('ko-KR')}원`;
}

function intervalText(interval: PlanInterval): { ko: string; en: string } {
  const { unit, count } = interval;
  const ko = { month: '개월', week: '주', year: '년' }[unit];
  const one = { month: '월', week: '주', year: '년' }[unit];
  return {
    ko: count === 1 ? one : `${count}${ko}`,
    en: count === 1 ? `per ${unit}` : `every ${count} ${unit}s`,
  };
}

function priceText(amount: number, interval: PlanInterval): string {
  const every = intervalText(interval);
  return `${won(amount)} / ${every.ko} <span class="en">(KRW ${amount.toLocaleString('en-US')} ${every.en})</span>`;
}

const PAY_TYPE_LABEL: Readonly<Record<PayType, string>> = {
  card: '신용·체크카드 <span class="en">Card</span>',
  transfer: '계좌이체 <span class="en">Bank account</span>',
};

function page(
  title: string,
  body: string,
  context: PageContext,
  options: { status?: number; script?: boolean } = {},
): HtmlPage {
  const nonce = randomBytes(16).toString('base64');
  const scripts = options.script
    ? `<script src="${escapeHtml(`${context.paypleHost.replace(/\/+$/, '')}/js/cpay.payple.1.0.1.js`)}"></script>
<script nonce="${nonce}">${SCRIPT}</script>`
    : '';
  const html = `<!doctype html>
<html lang="ko">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}</title>
<link rel="icon" href="data:,">
<style nonce="${nonce}">${STYLE}</style>
</head>
<body>
<main>
${body}
</main>
${scripts}
</body>
</html>
`;
  return { status: options.status ?? 200, body: html, headers: securityHeaders(context, nonce) };
}

function customerFields(): string {
  const field = (id: string, label: string, input: string, hint?: string) => `<div class="field">
<label for="input-${id}">${label}</label>
${hint ? `<span class="hint" id="hint-${id}">${hint}</span>` : ''}
${input}
<span class="field-error" id="error-${id}" aria-live="polite"></span>
</div>`;
  return `<fieldset>
<legend>고객 정보 <span class="en">Your details</span></legend>
${field(
  'customer-name',
  '이름 <span class="en">Name</span> <span class="required" aria-hidden="true">*</span>',
  '<input id="input-customer-name" name="name" autocomplete="name" required maxlength="80" aria-describedby="error-customer-name">',
)}
${field(
  'customer-phone',
  '휴대전화 <span class="en">Mobile phone</span>',
  '<input id="input-customer-phone" name="phone" type="tel" inputmode="tel" autocomplete="tel" maxlength="20" aria-describedby="hint-customer-phone error-customer-phone">',
  '선택 · 결제 알림톡을 받을 번호 (예: 010-1234-5678) <span class="en">Optional, for payment notices</span>',
)}
${field(
  'customer-email',
  '이메일 <span class="en">E-mail</span>',
  '<input id="input-customer-email" name="email" type="email" autocomplete="email" maxlength="100" aria-describedby="hint-customer-email error-customer-email">',
  '선택 · 결제 안내 메일을 받을 주소 <span class="en">Optional, for receipts</span>',
)}
</fieldset>`;
}

function payTypeChoices(offered: readonly PayType[]): string {
  const choices = (['card', 'transfer'] as const)
    .map(
      (payType, i) => `<div class="choice">
<input type="radio" name="payType" id="pay-type-${payType}" value="${payType}"${i === 0 && offered.includes(payType) ? ' checked' : ''}${offered.includes(payType) ? '' : ' disabled'}>
<label for="pay-type-${payType}">${PAY_TYPE_LABEL[payType]}</label>
</div>`,
    )
    .join('\n');
  return `<fieldset>
<legend id="pay-type-legend">결제 수단 <span class="en">Payment method</span></legend>
<div class="inline" role="radiogroup" aria-labelledby="pay-type-legend">
${choices}
</div>
<span class="field-error" id="error-payType" aria-live="polite"></span>
</fieldset>`;
}

function formShell(context: PageContext, inner: string, payTypesAttribute: string): string {
  return `<form id="subscribe-form" method="post" action="${escapeHtml(`${context.publicBaseUrl}/checkout`)}"${payTypesAttribute}
 data-text-preparing="결제창을 준비하고 있습니다… (Preparing the payment window…)"
 data-text-opening="결제창을 여는 중입니다… (Opening the payment window…)"
 data-text-check-fields="표시된 항목을 확인해 주세요. (Please check the highlighted fields.)"
 data-text-no-script="결제창 스크립트를 불러오지 못했습니다. 잠시 후 다시 시도해 주세요. (The payment window script did not load. Please try again.)"
 data-text-failed="요청을 처리하지 못했습니다. 잠시 후 다시 시도해 주세요. (Something went wrong. Please try again.)">
${inner}
${customerFields()}
<p id="form-error" role="alert"></p>
<p id="form-status" role="status"></p>
<button type="submit" id="subscribe-button">결제창 열기 <span lang="en">· Open payment window</span></button>
</form>
<noscript><p class="notice">결제창을 열려면 자바스크립트가 필요합니다. <span lang="en">JavaScript is needed to open Payple's payment window.</span></p></noscript>`;
}

/** `GET /subscribe`: the plans, a pay type, the customer's details, and the button. */
export function subscribePage(context: PageContext, plans: readonly PlanOffer[]): HtmlPage {
  const choices = plans
    .map(
      (plan, i) => `<div class="choice">
<input type="radio" name="planId" id="plan-${escapeHtml(plan.id)}" value="${escapeHtml(plan.id)}" data-pay-types="${escapeHtml(plan.payTypes.join(' '))}"${i === 0 ? ' checked' : ''} required>
<label for="plan-${escapeHtml(plan.id)}">
<span class="plan-name">${escapeHtml(plan.goodsName)}</span>
<span class="plan-price">${priceText(plan.amount, plan.interval)}</span>
${plan.description ? `<span class="plan-note">${escapeHtml(plan.description)}</span>` : ''}
<span class="plan-note">${FIRST_PAYMENT_NOTE[plan.firstPayment]}</span>
</label>
</div>`,
    )
    .join('\n');
  const body = `<h1>정기구독 신청 <span class="en" lang="en">Subscribe</span></h1>
<p class="lead">요금제와 결제 수단을 고르고 정보를 입력하면 페이플 결제창이 열립니다. <span class="en" lang="en">Pick a plan and a payment method; Payple's secure window opens next.</span></p>
${formShell(
  context,
  `<fieldset>
<legend>요금제 <span class="en">Plan</span></legend>
${choices}
<span class="field-error" id="error-planId" aria-live="polite"></span>
</fieldset>
${payTypeChoices(['card', 'transfer'])}`,
  '',
)}`;
  return page('정기구독 신청 · Subscribe', body, context, { script: true });
}

/** What the replace page shows of the subscription: its plan, never the customer. */
export interface ReplaceTarget {
  readonly subscriptionId: string;
  readonly goodsName: string;
  readonly amount: number;
  readonly interval: PlanInterval;
  readonly payTypes: readonly PayType[];
}

/** `GET /subscribe?replace=<id>`: a new card or account for an existing subscription. */
export function replacePage(context: PageContext, target: ReplaceTarget): HtmlPage {
  const body = `<h1>결제 수단 변경 <span class="en" lang="en">Replace your payment method</span></h1>
<p class="lead">새 카드나 계좌를 등록하면 밀린 결제가 바로 다시 진행됩니다. <span class="en" lang="en">Register a new card or account; an overdue payment is retried right away.</span></p>
${formShell(
  context,
  `<fieldset>
<legend>구독 <span class="en">Subscription</span></legend>
<p><span class="plan-name">${escapeHtml(target.goodsName)}</span>
<span class="plan-price">${priceText(target.amount, target.interval)}</span></p>
<input type="hidden" name="replaceSubscriptionId" value="${escapeHtml(target.subscriptionId)}">
<span class="field-error" id="error-replaceSubscriptionId" aria-live="polite"></span>
</fieldset>
${payTypeChoices(target.payTypes)}`,
  ` data-pay-types="${escapeHtml(target.payTypes.join(' '))}"`,
)}`;
  return page('결제 수단 변경 · Replace payment method', body, context, { script: true });
}

/** The replace page for an id that names no subscription waiting for a new payment method. */
export function notReplaceablePage(context: PageContext): HtmlPage {
  const body = `<h1>결제 수단을 변경할 수 없습니다 <span class="en" lang="en">This payment method cannot be replaced</span></h1>
<p>링크가 만료되었거나 변경이 필요하지 않은 구독입니다. <span class="en" lang="en">The link has expired, or the subscription does not need a new payment method.</span></p>
<p><a href="${escapeHtml(`${context.publicBaseUrl}/subscribe`)}">구독 신청 페이지로 <span class="en">Go to the subscribe page</span></a></p>`;
  return page('결제 수단 변경 · Replace payment method', body, context, { status: 404 });
}

/** `GET /subscribe/result?status=success|failure`: the default pages the return flow redirects to. */
export function resultPage(context: PageContext, status: string | undefined): HtmlPage {
  const again = `<p><a href="${escapeHtml(`${context.publicBaseUrl}/subscribe`)}">구독 신청 페이지로 <span class="en">Back to the subscribe page</span></a></p>`;
  if (status === 'success') {
    return page(
      '신청 완료 · Subscribed',
      `<h1 class="result-success" id="result-title">신청이 완료되었습니다 <span class="en" lang="en">You're subscribed</span></h1>
<p>결제 수단이 등록되었습니다. 결제 결과는 문자·이메일로 안내됩니다. <span class="en" lang="en">Your payment method is registered; payment results are sent by text message or e-mail.</span></p>`,
      context,
    );
  }
  if (status === 'failure') {
    return page(
      '신청 실패 · Not completed',
      `<h1 id="result-title">신청이 완료되지 않았습니다 <span class="en" lang="en">Your subscription was not completed</span></h1>
<p>결제창이 닫혔거나 결제 수단을 확인하지 못했습니다. 다시 시도해 주세요. <span class="en" lang="en">The payment window was closed or the payment method could not be confirmed. Please try again.</span></p>
${again}`,
      context,
    );
  }
  return page(
    '알 수 없는 결과 · Unknown result',
    `<h1 id="result-title">알 수 없는 결과입니다 <span class="en" lang="en">Unknown result</span></h1>\n${again}`,
    context,
    { status: 400 },
  );
}
