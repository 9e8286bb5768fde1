// The local console's script: reads GET /__local/state every two seconds and after every action,
// and drives the admin API (clock, card switch, faults). Plain DOM, no build step; every value from
// the server is written with textContent.
/* global document, window, fetch, setTimeout, URLSearchParams */
'use strict';

const REFRESH_MS = 2000;
const STATUS_KIND = {
  active: 'good',
  incomplete: 'muted',
  past_due: 'warn',
  unpaid: 'bad',
  paused: 'muted',
  canceled: 'muted',
  paid: 'good',
  charging: 'info',
  declined: 'bad',
  unknown: 'warn',
  not_charged: 'muted',
  needs_review: 'bad',
  refunded: 'muted',
  partially_refunded: 'muted',
  processing: 'info',
  charged: 'good',
  partiallyRefunded: 'muted',
};

const kstFormat = new Intl.DateTimeFormat('sv-SE', {
  timeZone: 'Asia/Seoul',
  year: 'numeric',
  month: '2-digit',
  day: '2-digit',
  hour: '2-digit',
  minute: '2-digit',
  second: '2-digit',
  hour12: false,
});

function kst(ms, withSeconds) {
  if (ms === null || ms === undefined) return '—';
  const text = kstFormat.format(new Date(ms));
  return withSeconds ? text : text.slice(0, 16);
}

function won(amount) {
  return typeof amount === 'number' ? `${amount.toLocaleString('ko-KR')}원` : '';
}

function element(tag, options, ...children) {
  const node = document.createElement(tag);
  const { className, text, title, attributes } = options || {};
  if (className) node.className = className;
  if (text !== undefined && text !== null) node.textContent = String(text);
  if (title) node.title = title;
  for (const [name, value] of Object.entries(attributes || {})) node.setAttribute(name, value);
  for (const child of children) if (child) node.append(child);
  return node;
}

function pill(text) {
  return element('span', { className: `pill pill-${STATUS_KIND[text] || 'muted'}`, text });
}

function cell(...children) {
  const td = element('td');
  for (const child of children) {
    if (child === null || child === undefined) continue;
    td.append(typeof child === 'string' ? document.createTextNode(child) : child);
  }
  return td;
}

function code(text) {
  return element('code', { text });
}

/** Shortens an id for a cell; the whole id stays in the title. */
function shortId(id) {
  return element('code', { text: id.length > 18 ? `${id.slice(0, 15)}…` : id, title: id });
}

function setEmpty(id, isEmpty) {
  document.getElementById(`${id}-empty`).hidden = !isEmpty;
}

async function api(method, path, body) {
  const response = await fetch(path, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const json = await response.json().catch(() => ({}));
  if (!response.ok) throw new Error(json.error || json.message || `HTTP ${response.status}`);
  return json;
}

let state;
let busyTravel = false;

function describeDuration(ms) {
  const abs = Math.abs(ms);
  const days = Math.floor(abs / 86_400_000);
  const hours = Math.floor((abs % 86_400_000) / 3_600_000);
  if (days === 0 && hours === 0) return 'on real time';
  return `${days > 0 ? `${days} day${days === 1 ? '' : 's'} ` : ''}${hours > 0 ? `${hours} h ` : ''}${ms >= 0 ? 'ahead of' : 'behind'} real time`;
}

function renderClock(clock) {
  const now = document.getElementById('clock-now');
  now.textContent = kst(clock.now, true);
  now.dateTime = new Date(clock.now).toISOString();
  document.getElementById('clock-ahead').textContent =
    `${describeDuration(clock.aheadMs)} · ${clock.mode === 'running' ? 'running' : 'frozen'}` +
    (clock.errors > 0 ? ` · ${clock.errors} schedule run(s) failed (see the terminal)` : '');
  document.getElementById('clock-schedules').textContent = clock.schedules
    .map((schedule) => `${schedule.name} ${schedule.expression}: next ${kst(schedule.nextRun)}`)
    .join(' · ');
  // Offer "a day from now" until the person types their own date.
  const input = document.getElementById('travel-to-input');
  if (input.dataset.edited !== 'true' && document.activeElement !== input) {
    input.value = kst(clock.now + 86_400_000).replace(' ', 'T');
  }
}

function cardOptions(subscription) {
  const numbers = subscription.payType === 'card' ? state.testCards : state.testAccounts;
  return numbers.map((number) =>
    element('option', {
      text: `${number.name} (${number.classification})`,
      attributes: { value: number.name },
    }),
  );
}

function subscriptionActions(subscription) {
  const td = element('td', { className: 'actions' });
  if (state.payple.mode === 'sandbox') {
    const id = `card-${subscription.id}`;
    const select = element(
      'select',
      { attributes: { id, 'aria-label': `Test card for ${subscription.id}` } },
      ...cardOptions(subscription),
    );
    const button = element('button', {
      text: 'Switch card',
      className: 'secondary small-button',
      attributes: { type: 'button' },
    });
    button.addEventListener('click', async () => {
      button.disabled = true;
      const body = subscription.payType === 'card' ? { card: select.value } : { account: select.value };
      try {
        const result = await api(
          'POST',
          `/__local/subscriptions/${encodeURIComponent(subscription.id)}/card`,
          body,
        );
        flash(
          'clock-status',
          `${subscription.id}: the billing key now charges ${result.testName} (${result.maskedNumber})`,
        );
      } catch (error) {
        flash('clock-status', `Could not switch the card: ${error.message}`, true);
      } finally {
        button.disabled = false;
        void refresh();
      }
    });
    td.append(element('div', { className: 'card-switch' }, select, button));
  }
  const replace = element('a', {
    text: 'Register a new card',
    className: 'replace-link',
    attributes: { href: `/subscribe?${new URLSearchParams({ replace: subscription.id })}` },
  });
  td.append(replace);
  return td;
}

function renderSubscriptions(subscriptions) {
  const tbody = document.querySelector('#subscriptions tbody');
  const existing = new Map([...tbody.rows].map((row) => [row.dataset.subscriptionId, row]));
  const wanted = subscriptions.map((subscription) => subscription.id);
  for (const [id, row] of existing) if (!wanted.includes(id)) row.remove();
  subscriptions.forEach((subscription, index) => {
    let row = existing.get(subscription.id);
    if (!row) {
      row = element('tr', { attributes: { 'data-subscription-id': subscription.id } });
      for (let i = 0; i < 7; i++) row.append(element('td'));
      row.append(subscriptionActions(subscription));
    }
    if (tbody.rows[index] !== row) tbody.insertBefore(row, tbody.rows[index] || null);
    row.dataset.status = subscription.status;
    const method = subscription.paymentMethod;
    const cells = [
      cell(shortId(subscription.id)),
      cell(subscription.customerName),
      cell(
        element('span', { className: 'nowrap', text: subscription.plan.goodsName }),
        element('br'),
        element('span', { className: 'muted', text: won(subscription.plan.amount) }),
      ),
      cell(
        pill(subscription.status),
        subscription.onHold ? pill('on hold') : null,
        method.status === 'needs_replacement'
          ? element('span', { className: 'muted small', text: ' needs a new card' })
          : null,
      ),
      cell(
        method.maskedNumber ? code(method.maskedNumber) : '—',
        method.testName ? element('span', { className: 'muted small', text: ` ${method.testName}` }) : null,
        method.keyStatus === 'deleted'
          ? element('span', { className: 'muted small', text: ' (key deleted)' })
          : null,
      ),
      cell(
        subscription.inFlight ? `in flight: ${subscription.inFlight.oid}` : kst(subscription.nextChargeAt),
      ),
      cell(`${subscription.currentPeriod} · ${subscription.attemptsMade}`),
    ];
    cells.forEach((fresh, i) => {
      const old = row.cells[i];
      if (old.innerHTML !== fresh.innerHTML) row.replaceChild(fresh, old);
    });
    const replace = row.querySelector('.replace-link');
    replace.hidden = !(
      subscription.status === 'past_due' ||
      subscription.status === 'unpaid' ||
      method.status === 'needs_replacement'
    );
  });
  setEmpty('subscriptions', subscriptions.length === 0);
}

function replaceRows(tableId, rows) {
  const tbody = document.querySelector(`#${tableId} tbody`);
  tbody.replaceChildren(...rows);
  setEmpty(tableId, rows.length === 0);
}

function renderPayments(payments) {
  replaceRows(
    'payments',
    payments.map((payment) =>
      element(
        'tr',
        { attributes: { 'data-oid': payment.oid, 'data-state': payment.state } },
        cell(code(payment.oid)),
        cell(won(payment.amount)),
        cell(pill(payment.state), payment.declineClass ? ` ${payment.declineClass}` : null),
        cell(
          payment.answer && payment.answer.code ? code(payment.answer.code) : null,
          payment.answer && payment.answer.message ? ` ${payment.answer.message}` : null,
        ),
        cell(kst(payment.requestedAt)),
        cell(payment.resolvedBy || (payment.nextLookupAt ? `lookup ${kst(payment.nextLookupAt)}` : '—')),
      ),
    ),
  );
}

function renderLedger(ledger) {
  replaceRows(
    'ledger',
    ledger.map((entry) =>
      element(
        'tr',
        { attributes: { 'data-oid': entry.oid, 'data-status': entry.status } },
        cell(code(entry.oid)),
        cell(entry.origin),
        cell(won(entry.amount)),
        cell(pill(entry.status)),
        cell(
          entry.answerCode ? code(entry.answerCode) : null,
          entry.answerMessage ? ` ${entry.answerMessage}` : null,
        ),
        cell(entry.answerDelivered === false ? 'lost' : entry.answerDelivered ? 'yes' : '—'),
        cell(
          entry.payTime
            ? entry.payTime.replace(/^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})$/, '$1-$2-$3 $4:$5')
            : '—',
        ),
      ),
    ),
  );
}

/** An OID is `{subscriptionId}-{period}-{attempt}`: after the subscription, show only the rest. */
function attemptOf(event) {
  const prefix = `${event.subscriptionId}-`;
  const text =
    event.subscriptionId && event.oid.startsWith(prefix) ? event.oid.slice(prefix.length) : event.oid;
  return element('code', { text: ` ${text}`, title: event.oid });
}

function renderEvents(events, count) {
  const list = document.getElementById('events');
  list.replaceChildren(
    ...events.map((event) =>
      element(
        'li',
        { attributes: { 'data-type': event.type } },
        element('time', { text: kst(Date.parse(event.time)), attributes: { datetime: event.time } }),
        element(
          'div',
          {},
          element('span', { className: `event-type event-${event.type.split('.')[0]}`, text: event.type }),
          element(
            'div',
            { className: 'event-detail' },
            event.subscriptionId ? shortId(event.subscriptionId) : null,
            event.oid ? attemptOf(event) : null,
            event.amount !== undefined ? document.createTextNode(` ${won(event.amount)}`) : null,
            event.status ? document.createTextNode(' → ') : null,
            event.status ? pill(event.status) : null,
          ),
        ),
      ),
    ),
  );
  document.getElementById('event-count').textContent =
    count > events.length ? `(latest ${events.length} of ${count})` : '';
  setEmpty('events', events.length === 0);
}

function renderFaults(faults) {
  const list = document.getElementById('faults');
  if (!list) return;
  list.replaceChildren(
    ...faults.map((fault) => {
      const { id, kind, remaining, hits, ...match } = fault;
      const details = Object.entries(match)
        .map(([name, value]) => `${name}=${value}`)
        .join(', ');
      const remove = element('button', {
        text: 'Remove',
        className: 'secondary small-button',
        attributes: { type: 'button', 'aria-label': `Remove fault ${kind}` },
      });
      remove.addEventListener('click', async () => {
        await api('DELETE', `/__local/faults/${encodeURIComponent(id)}`).catch(() => undefined);
        void refresh();
      });
      return element(
        'li',
        {},
        element('strong', { text: kind }),
        document.createTextNode(
          ` ${details || 'any request'} · ${remaining === undefined || remaining === null ? 'until removed' : `${remaining} left`} · hit ${hits}× `,
        ),
        remove,
      );
    }),
  );
  setEmpty('faults', faults.length === 0);
}

function render(next) {
  state = next;
  renderClock(state.clock);
  renderSubscriptions(state.subscriptions);
  renderPayments(state.payments);
  renderLedger(state.ledger);
  renderEvents(state.events, state.eventCount);
  renderFaults(state.faults);
  document.body.dataset.loaded = 'true';
}

let refreshing;
async function refresh() {
  refreshing ??= api('GET', '/__local/state')
    .then(render, (error) => flash('clock-status', `Could not read the state: ${error.message}`, true))
    .finally(() => {
      refreshing = undefined;
    });
  return refreshing;
}

function flash(id, text, isError) {
  const node = document.getElementById(id);
  if (!node) return;
  node.textContent = text;
  node.classList.toggle('error', Boolean(isError));
}

async function travel(target, label) {
  if (busyTravel) return;
  busyTravel = true;
  const controls = document.querySelectorAll('.clock-controls button, .clock-controls input');
  for (const control of controls) control.disabled = true;
  flash('clock-status', `Moving the clock ${label}… due charges, retries and lookups run on the way.`);
  try {
    const report = await api('POST', '/__local/clock', target);
    const failures =
      report.failures.length > 0 ? `, ${report.failures.length} failed (see the terminal)` : '';
    const runs = `${report.runs.toLocaleString('en-US')} schedule runs${failures}`;
    flash(
      'clock-status',
      'to' in target ? `Moved ${label} KST: ${runs}.` : `Moved ${label}: now ${kst(report.to)} KST, ${runs}.`,
      report.failures.length > 0,
    );
  } catch (error) {
    flash('clock-status', `The clock did not move: ${error.message}`, true);
  } finally {
    busyTravel = false;
    for (const control of controls) control.disabled = false;
    void refresh();
  }
}

for (const button of document.querySelectorAll('button.travel')) {
  button.addEventListener('click', () => travel(JSON.parse(button.dataset.travel), button.textContent));
}

const travelTo = document.getElementById('travel-to-input');
travelTo.addEventListener('input', () => {
  travelTo.dataset.edited = 'true';
});
document.getElementById('travel-to').addEventListener('submit', (event) => {
  event.preventDefault();
  const value = travelTo.value;
  delete travelTo.dataset.edited;
  if (value) void travel({ to: value }, `to ${value.replace('T', ' ')}`);
});

const faultForm = document.getElementById('fault-form');
if (faultForm) {
  faultForm.addEventListener('submit', async (event) => {
    event.preventDefault();
    const data = new window.FormData(faultForm);
    const [kind, variant] = String(data.get('kind')).split(':');
    const spec = { kind };
    if (kind === 'cardCompanyNoAnswer') spec.charged = variant !== 'notCharged';
    if (data.get('operation')) spec.operation = data.get('operation');
    if (data.get('times')) spec.times = Number(data.get('times'));
    if (kind === 'latency' || kind === 'webhookDelay') spec.ms = Number(data.get('ms') || 0);
    try {
      const fault = await api('POST', '/__local/faults', spec);
      flash('fault-status', `Injected ${fault.kind} (${fault.id}).`);
    } catch (error) {
      flash('fault-status', `Refused: ${error.message}`, true);
    }
    void refresh();
  });
  document.getElementById('faults-clear').addEventListener('click', async () => {
    await api('DELETE', '/__local/faults').catch(() => undefined);
    flash('fault-status', 'Every fault removed.');
    void refresh();
  });
}

async function loop() {
  await refresh();
  setTimeout(loop, REFRESH_MS);
}
void loop();
