/**
 * The local console in a real browser (Debian's chromium through playwright-core), on the stack
 * `npm start` runs: a customer subscribes with a test card; the console moves the clock a month and
 * the renewal is charged once; the console switches the card to one that declines and moves the
 * clock, and the retries happen on the dunning schedule (days 1, 3, 5, 7) until the subscription is
 * unpaid; the customer registers a new card through `/subscribe?replace=<id>` and it recovers.
 */
import { mkdirSync } from 'node:fs';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { LocalStack } from '../../local/stack.ts';
import { launchChromium, payThroughWindow, startConsoleStack, watchForProblems } from './support.ts';

/** Bounded waits for what the page shows after an action (it refreshes every 2 s). */
const UNTIL = { timeout: 30_000, interval: 250 } as const;

describe('the local console drives time and Payple in a real browser', () => {
  let stack: LocalStack;
  let browser: Browser;
  beforeAll(async () => {
    // A Wednesday afternoon in KST, away from month ends and the banks' night.
    stack = await startConsoleStack('2027-03-10T14:00:00+09:00');
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser.close();
    await stack.stop();
  });

  const subscriptionRow = (page: Page, id: string) => page.locator(`tr[data-subscription-id="${id}"]`);
  const ledgerOf = (id: string, periodKey: string) =>
    stack.sandbox.admin.ledger().filter((entry) => entry.oid.startsWith(`${id}-${periodKey}-`));

  /** Clicks a clock control and waits until the console reports the trip. */
  async function moveClock(page: Page, control: () => Promise<void>): Promise<void> {
    await control();
    await expect.poll(() => page.locator('#clock-status').textContent(), UNTIL).toMatch(/^Moved /);
  }

  test('subscribe, renew after a month, decline and retry on schedule, recover with a new card', async () => {
    const page = await browser.newPage({ viewport: { width: 1360, height: 1100 }, locale: 'en-US' });
    const problems = watchForProblems(page);
    const consoleResponse = await page.goto(stack.consoleUrl);
    expect(consoleResponse?.headers()['content-security-policy']).toContain("default-src 'none'");
    await expect.poll(() => page.locator('body').getAttribute('data-loaded'), UNTIL).toBe('true');
    expect(await page.locator('#subscriptions-empty').isVisible()).toBe(true);

    // A customer subscribes to the monthly plan with a test card; period 0 is charged at once.
    const customer = await browser.newPage({ locale: 'ko-KR' });
    await customer.goto(`${stack.gatewayUrl}/subscribe`);
    await customer.getByRole('radio', { name: /베이직 월간 구독/ }).check();
    await payThroughWindow(customer, stack);
    await expect.poll(() => page.locator('#subscriptions tbody tr').count(), UNTIL).toBe(1);
    const id = (await page.locator('#subscriptions tbody tr').getAttribute('data-subscription-id'))!;
    await expect.poll(() => subscriptionRow(page, id).getAttribute('data-status'), UNTIL).toBe('active');
    expect(ledgerOf(id, '20270310')).toMatchObject([{ status: 'charged', amount: 9_900 }]);

    // +1 month: the renewal of 2027-04-10 is charged, once.
    await moveClock(page, () => page.getByRole('button', { name: '+1 month' }).click());
    await expect
      .poll(() => page.locator(`#payments tr[data-oid="${id}-20270410-1"]`).getAttribute('data-state'), UNTIL)
      .toBe('paid');
    expect(ledgerOf(id, '20270410')).toMatchObject([
      { status: 'charged', amount: 9_900, payDate: '20270410' },
    ]);
    expect(await page.locator('#events li[data-type="payment.succeeded"]').count()).toBe(2);

    // The card behind the billing key starts to decline; the next renewal fails and retries.
    await subscriptionRow(page, id).getByLabel(`Test card for ${id}`).selectOption('insufficientFunds');
    await subscriptionRow(page, id).getByRole('button', { name: 'Switch card' }).click();
    await expect
      .poll(() => page.locator('#clock-status').textContent(), UNTIL)
      .toContain('now charges insufficientFunds');
    await moveClock(page, () => page.getByRole('button', { name: '+1 month' }).click());
    await expect.poll(() => subscriptionRow(page, id).getAttribute('data-status'), UNTIL).toBe('past_due');
    expect(ledgerOf(id, '20270510')).toMatchObject([{ status: 'declined', payDate: '20270510' }]);

    await moveClock(page, async () => {
      await page.getByLabel('Move to (KST)').fill('2027-05-17T12:00');
      await page.getByRole('button', { name: 'Go' }).click();
    });
    await expect.poll(() => subscriptionRow(page, id).getAttribute('data-status'), UNTIL).toBe('unpaid');
    // Day 0 and the dunning days 1, 3, 5 and 7, each a new attempt with its own OID, each once.
    expect(ledgerOf(id, '20270510').map((entry) => [entry.oid, entry.status, entry.payDate])).toEqual([
      [`${id}-20270510-1`, 'declined', '20270510'],
      [`${id}-20270510-2`, 'declined', '20270511'],
      [`${id}-20270510-3`, 'declined', '20270513'],
      [`${id}-20270510-4`, 'declined', '20270515'],
      [`${id}-20270510-5`, 'declined', '20270517'],
    ]);
    await expect
      .poll(() => page.locator('#events li[data-type="subscription.unpaid"]').count(), UNTIL)
      .toBe(1);

    // The customer registers a new card through the link the console shows; the subscription recovers.
    const replace = subscriptionRow(page, id).getByRole('link', { name: 'Register a new card' });
    expect(await replace.getAttribute('href')).toBe(`/subscribe?replace=${id}`);
    await customer.goto(`${stack.gatewayUrl}${await replace.getAttribute('href')}`);
    await expect
      .poll(() => customer.getByRole('heading', { level: 1 }).textContent())
      .toContain('결제 수단 변경');
    await payThroughWindow(customer, stack);
    await expect.poll(() => subscriptionRow(page, id).getAttribute('data-status'), UNTIL).toBe('active');
    await expect
      .poll(() => page.locator('#events li[data-type="subscription.recovered"]').count(), UNTIL)
      .toBe(1);
    const recovered = ledgerOf(id, '20270510').filter((entry) => entry.status === 'charged');
    expect(recovered).toMatchObject([{ amount: 9_900, payDate: '20270517' }]);
    // Three periods, each charged exactly once.
    const charged = stack.sandbox.admin
      .ledger()
      .filter((entry) => entry.oid.startsWith(`${id}-`) && entry.status === 'charged');
    expect(charged.map((entry) => entry.oid.split('-')[1])).toEqual(['20270310', '20270410', '20270510']);
    expect(stack.clock.errors).toEqual([]);

    mkdirSync('test-results', { recursive: true });
    await page.screenshot({ path: 'test-results/console.png', fullPage: true });
    expect(problems).toEqual([]);
    await customer.close();
    await page.close();
  }, 180_000);
});
