/**
 * The console's HTML: a static skeleton that `assets/console.js` fills from `GET /__local/state`
 * (every two seconds, and after every action). Data is only ever written with `textContent`, so
 * nothing a customer typed can become markup.
 */
import type { PaypleConnection } from './state.ts';

/** Scripts and styles from this origin only; the page talks to this origin only. */
export const CONSOLE_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "connect-src 'self'",
  "img-src 'self' data:",
  "form-action 'self'",
  "base-uri 'none'",
  "frame-ancestors 'none'",
].join('; ');

function escapeHtml(value: string): string {
  return value
    .replaceAll('&', '&amp;')
    .replaceAll('<', '&lt;')
    .replaceAll('>', '&gt;')
    .replaceAll('"', '&quot;')
    .replaceAll("'", '&#39;');
}

const FAULT_KINDS = [
  ['answerLost', 'answer lost (charged, connection reset)'],
  ['cardCompanyNoAnswer', 'card company did not answer, charged (SPCD1001)'],
  ['cardCompanyNoAnswer:notCharged', 'card company did not answer, not charged'],
  ['noAnswer', 'no answer (socket held)'],
  ['httpError', 'HTTP 500 page'],
  ['garbage', 'garbage body (PHP error)'],
  ['latency', 'latency'],
  ['webhookDrop', 'webhook dropped'],
  ['webhookDuplicate', 'webhook sent twice'],
  ['webhookDelay', 'webhook delayed'],
] as const;

const FAULT_OPERATIONS = ['charge', 'auth', 'lookup', 'userInfo', 'window', 'certConfirm', 'cancel'] as const;

function table(id: string, caption: string, headings: readonly string[], empty: string): string {
  return `<div class="table-wrap">
<table id="${id}">
<caption>${caption}</caption>
<thead><tr>${headings.map((heading) => `<th scope="col">${heading}</th>`).join('')}</tr></thead>
<tbody></tbody>
</table>
<p class="empty" id="${id}-empty">${empty}</p>
</div>`;
}

/** `GET /__local`. */
export function consolePage(payple: PaypleConnection): string {
  const sandbox = payple.mode === 'sandbox';
  const paypleBadge = sandbox
    ? `<span class="badge">Payple: sandbox</span> <a href="${escapeHtml(payple.host)}/__sandbox">${escapeHtml(payple.host)}</a>`
    : `<span class="badge badge-warn">Payple: test host</span> ${escapeHtml(payple.host)}`;
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Local console · Payple recurring billing</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="/__local/assets/console.css">
</head>
<body data-payple-mode="${payple.mode}">
<header class="top">
<h1>Local console</h1>
<p class="top-links">${paypleBadge} · <a href="/subscribe">Subscribe page</a> · <a href="/__local/api">Admin API</a></p>
</header>
<main>
<section class="panel clock" aria-labelledby="clock-title">
<h2 id="clock-title">Clock</h2>
<p class="clock-now"><time id="clock-now">…</time> <span class="muted">KST</span></p>
<p class="muted" id="clock-ahead"></p>
<div class="clock-controls">
<button type="button" class="travel" data-travel='{"days":1}'>+1 day</button>
<button type="button" class="travel" data-travel='{"days":7}'>+1 week</button>
<button type="button" class="travel" data-travel='{"months":1}'>+1 month</button>
<form id="travel-to" class="inline-form">
<label for="travel-to-input">Move to (KST)</label>
<input id="travel-to-input" name="to" type="datetime-local" required>
<button type="submit">Go</button>
</form>
</div>
<p id="clock-status" role="status" aria-live="polite"></p>
<p class="muted small" id="clock-schedules"></p>
</section>

<section class="panel" aria-labelledby="subscriptions-title">
<h2 id="subscriptions-title">Subscriptions</h2>
${table(
  'subscriptions',
  'Newest first. “Card” switches the test card behind the billing key (sandbox only).',
  ['Subscription', 'Customer', 'Plan', 'Status', 'Card', 'Next charge', 'Period · attempts', 'Actions'],
  'No subscriptions yet: open the <a href="/subscribe">subscribe page</a>.',
)}
</section>

<section class="panel" aria-labelledby="payments-title">
<h2 id="payments-title">Payments</h2>
${table(
  'payments',
  'Charge attempts keyed by PCD_PAY_OID, newest first.',
  ['OID', 'Amount', 'State', 'Answer', 'Requested', 'Settled by'],
  'No charge attempts yet.',
)}
</section>

<div class="columns">
<section class="panel" aria-labelledby="events-title">
<h2 id="events-title">Domain events <span class="muted small">since this start</span> <span class="muted small" id="event-count"></span></h2>
<ol id="events" class="events"></ol>
<p class="empty" id="events-empty">No events yet.</p>
</section>

<section class="panel" aria-labelledby="faults-title">
<h2 id="faults-title">Payple faults</h2>
${
  sandbox
    ? `<form id="fault-form" class="fault-form">
<div class="fault-kind"><label for="fault-kind">Fault</label>
<select id="fault-kind" name="kind">${FAULT_KINDS.map(([kind, label]) => `<option value="${kind}">${label}</option>`).join('')}</select></div>
<div><label for="fault-operation">On</label>
<select id="fault-operation" name="operation"><option value="">any operation</option>${FAULT_OPERATIONS.map((operation) => `<option value="${operation}">${operation}</option>`).join('')}</select></div>
<div><label for="fault-times">Times</label>
<input id="fault-times" name="times" type="number" min="1" max="1000" placeholder="until removed"></div>
<div><label for="fault-ms">ms (latency, delay)</label>
<input id="fault-ms" name="ms" type="number" min="0" max="600000" value="3000"></div>
<div class="fault-buttons"><button type="submit">Inject</button>
<button type="button" id="faults-clear" class="secondary">Clear all</button></div>
</form>
<p id="fault-status" role="status" aria-live="polite"></p>
<ul id="faults" class="faults"></ul>
<p class="empty" id="faults-empty">No faults: the sandbox behaves.</p>`
    : '<p>Faults are injected into the sandbox only; PAYPLE_ENV=demo talks to Payple’s test host.</p>'
}
</section>
</div>

<section class="panel" aria-labelledby="ledger-title">
<h2 id="ledger-title">Sandbox ledger</h2>
${table(
  'ledger',
  'What the Payple sandbox recorded for every OID: the truth the reconciler looks up.',
  ['OID', 'Origin', 'Amount', 'Status', 'Answer', 'Delivered', 'Pay time (KST)'],
  sandbox ? 'The sandbox has recorded no charge.' : 'PAYPLE_ENV=demo: the ledger is at Payple.',
)}
</section>
</main>
<script src="/__local/assets/console.js"></script>
</body>
</html>
`;
}
