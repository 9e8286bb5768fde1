/**
 * `npm start` as a person runs it: a child process in its own process group (a terminal's
 * foreground job), on free ports, with a data folder. The test waits for the URL it prints, runs a
 * short scenario over HTTP (subscribe through checkout, the window and the return; move the clock a
 * month), sends SIGINT to the group as Ctrl-C does, and finds nothing of it left: no DynamoDB Local
 * JVM, no node child. A second `npm start` on the same folder finds the subscription, the billing
 * key and the travelled clock, and renews it. Without Java it says so in one sentence.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, realpathSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, test } from 'vitest';
import { testCards } from '../../local/payple-sandbox/index.ts';
import { payInWindow, postReturn } from '../edge/support.ts';
import { consoleState } from './support.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
/** Node 24 (the one running this test) first, as README's requirements say. */
const PATH = `${dirname(process.execPath)}:${process.env.PATH ?? ''}`;

interface Run {
  readonly child: ChildProcess;
  readonly output: () => string;
  readonly exited: Promise<number | null>;
}

const runs: Run[] = [];

function npmStart(env: Record<string, string>): Run {
  const child = spawn('npm', ['start'], {
    cwd: ROOT,
    // Its own process group, so SIGINT can go to the whole job as a terminal's Ctrl-C does.
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, PATH, PORT: '0', PAYPLE_SANDBOX_PORT: '0', ...env },
  });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const run = { child, output: () => output, exited };
  runs.push(run);
  return run;
}

/** Waits (bounded) for the console URL `npm start` prints once everything listens. */
async function waitForUrl(run: Run): Promise<string> {
  let url: string | undefined;
  await expect
    .poll(
      () => {
        if (run.child.exitCode !== null) throw new Error(`npm start exited early:\n${run.output()}`);
        url = /Console\s+(http:\/\/127\.0\.0\.1:\d+)\/__local/.exec(run.output())?.[1];
        return url;
      },
      { timeout: 90_000, interval: 200 },
    )
    .toBeDefined();
  return url!;
}

interface ProcessInfo {
  readonly pid: number;
  readonly ppid: number;
  readonly pgid: number;
  readonly args: string;
}

function processes(): ProcessInfo[] {
  return execFileSync('ps', ['-eo', 'pid=,ppid=,pgid=,args='], { encoding: 'utf8' })
    .split('\n')
    .map((line) => /^\s*(\d+)\s+(\d+)\s+(\d+)\s+(.*)$/.exec(line))
    .filter((match) => match !== null)
    .map((match) => ({
      pid: Number(match[1]),
      ppid: Number(match[2]),
      pgid: Number(match[3]),
      args: match[4]!,
    }));
}

/** The process and everything it started, transitively. */
function tree(rootPid: number): ProcessInfo[] {
  const all = processes();
  const found = all.filter((p) => p.pid === rootPid);
  for (let i = 0; i < found.length; i++) found.push(...all.filter((p) => p.ppid === found[i]!.pid));
  return found;
}

/** Ctrl-C: SIGINT to the whole process group; then nothing of it may remain. */
async function interrupt(run: Run, started: readonly ProcessInfo[]): Promise<void> {
  const pgid = run.child.pid!;
  process.kill(-pgid, 'SIGINT');
  await Promise.race([
    run.exited,
    new Promise((_, reject) =>
      setTimeout(() => reject(new Error(`npm start did not exit:\n${run.output()}`)), 60_000),
    ),
  ]);
  const pids = new Set(started.map((p) => p.pid));
  await expect
    .poll(() => processes().filter((p) => pids.has(p.pid) || p.pgid === pgid), {
      timeout: 20_000,
      interval: 200,
    })
    .toEqual([]);
  expect(run.output()).toContain('SIGINT: stopping the local stack');
}

async function json(
  url: string,
  init: RequestInit = {},
): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await fetch(url, init);
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

const post = (url: string, body: unknown) =>
  json(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

afterAll(() => {
  // Only if a test failed half-way: never leave a job of ours behind.
  for (const run of runs) {
    if (run.child.exitCode === null && run.child.signalCode === null) {
      try {
        process.kill(-run.child.pid!, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  }
});

describe('npm start as a child process', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'npm-start-'));
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

  test('serves a subscription and a month of time travel, stops on Ctrl-C leaving nothing, and keeps its data for the next run', async () => {
    const first = npmStart({ LOCAL_DATA_DIR: dataDir });
    const url = await waitForUrl(first);
    const started = tree(first.child.pid!);
    const jvm = started.find((p) => p.args.includes('DynamoDBLocal.jar'));
    expect(jvm?.args).toContain(join(dataDir, 'dynamodb'));
    expect(started.filter((p) => /(^|\/)node /.test(p.args)).length).toBeGreaterThanOrEqual(2);

    // A customer subscribes (checkout, the sandbox's window, the result posted back to us).
    const checkout = await post(`${url}/checkout`, {
      planId: 'basic-monthly',
      payType: 'card',
      customer: { name: '홍길동' },
    });
    expect(checkout.status).toBe(201);
    const windowResult = await payInWindow(checkout.body['params'] as Record<string, string>, {
      number: testCards.success.number,
    });
    const returned = await postReturn(windowResult.action, windowResult.fields);
    expect(returned).toMatchObject({ status: 303, location: `${url}/subscribe/result?status=success` });
    await expect
      .poll(async () => (await consoleState(url)).subscriptions.map((s) => s.status), { timeout: 20_000 })
      .toEqual(['active']);

    // A month later the renewal is charged.
    const trip = await post(`${url}/__local/clock`, { months: 1 });
    expect(trip).toMatchObject({ status: 200, body: { failures: [] } });
    const afterTrip = await consoleState(url);
    expect(afterTrip.payments.map((p) => p.state)).toEqual(['paid', 'paid']);
    const id = afterTrip.subscriptions[0]!.id;

    await interrupt(first, started);

    // The second run finds the subscription, its billing key at the sandbox and the travelled clock.
    const second = npmStart({ LOCAL_DATA_DIR: dataDir });
    const url2 = await waitForUrl(second);
    const started2 = tree(second.child.pid!);
    const resumed = await consoleState(url2);
    expect(resumed.subscriptions).toMatchObject([
      { id, status: 'active', paymentMethod: { testName: 'success' } },
    ]);
    expect(resumed.ledger.map((entry) => entry.status)).toEqual(['charged', 'charged']);
    expect(resumed.clock.now).toBeGreaterThanOrEqual(afterTrip.clock.now);
    expect(resumed.clock.aheadMs).toBeGreaterThan(27 * 24 * 3_600_000);

    expect(await post(`${url2}/__local/clock`, { months: 1 })).toMatchObject({
      status: 200,
      body: { failures: [] },
    });
    const renewed = await consoleState(url2);
    expect(renewed.payments.map((p) => p.state)).toEqual(['paid', 'paid', 'paid']);
    expect(renewed.ledger.filter((entry) => entry.status === 'charged')).toHaveLength(3);

    await interrupt(second, started2);
  }, 300_000);

  test('says in one sentence that Java is missing, and exits', async () => {
    // A PATH with node, npm and sh only.
    const bin = mkdtempSync(join(tmpdir(), 'no-java-'));
    try {
      const npm = realpathSync(
        execFileSync('sh', ['-c', 'command -v npm'], { encoding: 'utf8', env: { PATH } }).trim(),
      );
      symlinkSync(process.execPath, join(bin, 'node'));
      symlinkSync(npm, join(bin, 'npm'));
      symlinkSync('/bin/sh', join(bin, 'sh'));
      const run = npmStart({ PATH: bin });

      expect(await run.exited).toBe(1);
      expect(run.output()).toContain(
        'Java 17 or newer is needed for DynamoDB Local and "java" is not on PATH',
      );
      expect(run.output()).not.toMatch(/\n\s+at /);
    } finally {
      rmSync(bin, { recursive: true, force: true });
    }
  }, 60_000);
});
