/**
 * A real browser (Debian's chromium through playwright-core) subscribes through the page, the
 * sandbox's window script and window, and Payple's result post back to PCD_RST_URL.
 */
import { mkdirSync } from 'node:fs';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { testCards } from '../../local/payple-sandbox/index.ts';
import type { CheckoutSession } from '../../functions/use-cases/checkout.ts';
import { paymentsOf, resultUrl, sessionsOf, startEdgeStack, type EdgeStack } from './support.ts';

const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

describe('a customer subscribes in a real browser', () => {
  let edge: EdgeStack;
  let browser: Browser;
  beforeAll(async () => {
    edge = await startEdgeStack({ startAt: '2027-03-10T14:00:00+09:00' });
    browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: CHROMIUM_ARGS });
  });
  afterAll(async () => {
    await browser.close();
    expect(edge.handlerErrors).toEqual([]);
    await edge.stop();
  });

  /** Problems the browser reports on our pages (CSP violations, script errors). */
  function watchForProblems(page: Page): string[] {
    const problems: string[] = [];
    page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
    page.on('console', (message) => {
      if (message.type() === 'error') problems.push(`console: ${message.text()}`);
    });
    return problems;
  }

  /** Fills the subscribe page and pays in the sandbox window; returns the checkout session it made. */
  async function subscribe(page: Page, plan: RegExp): Promise<CheckoutSession> {
    const before = new Set((await sessionsOf(edge)).map((s) => s.sessionId));
    await page.goto(`${edge.url}/subscribe`);
    await page.getByRole('radio', { name: plan }).check();
    await page.getByRole('radio', { name: /신용·체크카드/ }).check();
    await page.getByRole('textbox', { name: /이름/ }).fill('김민수');
    await page.getByRole('textbox', { name: /휴대전화/ }).fill('010-9876-5432');
    await page.getByRole('textbox', { name: /이메일/ }).fill('minsu@example.com');
    await page.getByRole('button', { name: /결제창 열기/ }).click();
    await page.waitForURL((url) => url.origin === new URL(edge.stack.sandbox.url).origin);
    await page.getByLabel('카드번호').fill(testCards.success.number);
    await page.locator('#submit').click();
    await page.waitForURL(resultUrl(edge, 'success'));
    await expect
      .poll(() => page.getByRole('heading', { level: 1 }).textContent())
      .toContain('신청이 완료되었습니다');
    const created = (await sessionsOf(edge)).filter((s) => !before.has(s.sessionId));
    expect(created).toHaveLength(1);
    return created[0]!;
  }

  test('the subscribe page reads well: one screenshot for a person to look at', async () => {
    const page = await browser.newPage({ viewport: { width: 900, height: 1000 }, locale: 'ko-KR' });
    const problems = watchForProblems(page);

    const response = await page.goto(`${edge.url}/subscribe`);

    expect(response?.headers()['content-security-policy']).toContain("default-src 'none'");
    await expect.poll(() => page.getByRole('radio', { name: /계좌이체/ }).isDisabled()).toBe(false);
    mkdirSync('test-results', { recursive: true });
    await page.screenshot({ path: 'test-results/subscribe.png', fullPage: true });
    // A plan that is card-only disables the bank account choice.
    await page.getByRole('radio', { name: /프로 월간 구독/ }).check();
    expect(await page.getByRole('radio', { name: /계좌이체/ }).isDisabled()).toBe(true);
    expect(problems).toEqual([]);
    await page.close();
  }, 60_000);

  test('registration only (AUTH): the card is registered, then period 0 is charged at once', async () => {
    const page = await browser.newPage();
    const problems = watchForProblems(page);

    const session = await subscribe(page, /베이직 월간 구독/);
    await edge.stack.billing.drain();

    expect(session).toMatchObject({ status: 'completed', work: 'AUTH' });
    const sub = await edge.stack.billing.store.getSubscription(session.subscriptionId);
    expect(sub).toMatchObject({ status: 'active', customer: { name: '김민수', phone: '01098765432' } });
    expect(edge.stack.sandbox.admin.billingKeys().map((key) => key.PCD_PAYER_ID)).toContain(
      sub!.paymentMethod.billingKeyRef,
    );
    const ledger = edge.stack.sandbox.admin.ledger().filter((e) => e.oid.startsWith(`${sub!.id}-`));
    expect(ledger).toMatchObject([{ status: 'charged', amount: 9_900, origin: 'regular' }]);
    expect(problems.filter((p) => p.includes('Content Security Policy'))).toEqual([]);
    await page.close();
  }, 60_000);

  test.each([
    ['pay now (PAY)', /프로 월간 구독/, 29_000, 'windowPay'],
    ['pay after confirm (CERT)', /주간 정기배송/, 15_000, 'certConfirm'],
  ] as const)(
    '%s: the first payment is recorded exactly once',
    async (_work, plan, amount, origin) => {
      const page = await browser.newPage();
      const problems = watchForProblems(page);

      const session = await subscribe(page, plan);
      await edge.stack.billing.reconcile();

      const oid = session.firstPaymentOid!;
      const payments = (await paymentsOf(edge)).filter((p) => p.subscriptionId === session.subscriptionId);
      expect(payments).toMatchObject([{ oid, state: 'paid', amount, period: 0 }]);
      expect(await edge.stack.billing.store.getSubscription(session.subscriptionId)).toMatchObject({
        status: 'active',
        currentPeriod: 1,
      });
      const ledger = edge.stack.sandbox.admin
        .ledger()
        .filter((e) => e.oid.startsWith(`${session.subscriptionId}-`));
      expect(ledger).toMatchObject([{ oid, status: 'charged', amount, origin }]);
      expect(problems.filter((p) => p.includes('Content Security Policy'))).toEqual([]);
      await page.close();
    },
    60_000,
  );
});
