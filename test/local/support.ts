/**
 * Helpers for the tests of `npm start` and its console: the stack as `npm start` wires it (running
 * clock, continuous poller, webhooks delivered, console routes) on the run's shared emulators, a
 * chromium launcher, and the customer's side of the subscribe page in a real browser.
 */
import { randomUUID } from 'node:crypto';
import { chromium, type Browser, type Page } from 'playwright-core';
import { expect, inject } from 'vitest';
import { testCards } from '../../local/payple-sandbox/index.ts';
import { startLocalStack, type LocalStack } from '../../local/stack.ts';
import type { ConsoleState } from '../../local/console/state.ts';

export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

export function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: '/usr/bin/chromium', args: CHROMIUM_ARGS });
}

/** The stack `npm start` runs, with the clock running from `startAt` instead of the wall clock. */
export function startConsoleStack(startAt: string): Promise<LocalStack> {
  return startLocalStack({
    emulators: { dynamoEndpoint: inject('dynamoEndpoint'), sqsEndpoint: inject('sqsEndpoint') },
    resourcePrefix: `t${randomUUID().slice(0, 8)}`,
    clockMode: 'running',
    startAt: Date.parse(startAt),
    pollContinuously: true,
    logLevel: 'SILENT',
  });
}

/** Problems the browser reports on a page (CSP violations, script errors, failed requests). */
export function watchForProblems(page: Page): string[] {
  const problems: string[] = [];
  page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
  page.on('console', (message) => {
    if (message.type() === 'error') problems.push(`console: ${message.text()}`);
  });
  return problems;
}

/**
 * On the subscribe page (or its replace variant, already open): fills the customer's name, opens the
 * sandbox's window, pays with `card` and waits for the success page.
 */
export async function payThroughWindow(
  page: Page,
  stack: LocalStack,
  card: string = testCards.success.number,
): Promise<void> {
  await page.getByRole('radio', { name: /신용·체크카드/ }).check();
  await page.getByRole('textbox', { name: /이름/ }).fill('김민수');
  await page.getByRole('button', { name: /결제창 열기/ }).click();
  await page.waitForURL((url) => url.origin === new URL(stack.sandbox.url).origin);
  await page.getByLabel('카드번호').fill(card);
  await page.locator('#submit').click();
  await page.waitForURL(`${stack.gatewayUrl}/subscribe/result?status=success`);
  await expect
    .poll(() => page.getByRole('heading', { level: 1 }).textContent())
    .toContain('신청이 완료되었습니다');
}

/** `GET /__local/state` over HTTP, as the console page reads it. */
export async function consoleState(baseUrl: string): Promise<ConsoleState> {
  const response = await fetch(`${baseUrl}/__local/state`);
  expect(response.status).toBe(200);
  return (await response.json()) as ConsoleState;
}
