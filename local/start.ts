/**
 * `npm start`: the whole system on this machine, until Ctrl-C.
 *
 *   PORT=3000 PAYPLE_SANDBOX_PORT=7878 LOCAL_DATA_DIR=.local-data PAYPLE_ENV=sandbox npm start
 *
 * Only `node:` modules are imported statically: the checks below must run before anything that
 * needs Node 24 (fauxqs uses `node:sqlite`) is loaded, or an old Node fails with a stack trace
 * instead of a sentence.
 */
import { spawnSync } from 'node:child_process';
import { parseArgs } from 'node:util';
import type { LocalStack } from './stack.ts';

function fail(message: string): never {
  console.error(message);
  process.exit(1);
}

const nodeMajor = Number(process.versions.node.split('.')[0]);
if (nodeMajor < 24) {
  fail(`Node.js 24 or newer is needed (this is ${process.version}); see README.md, "Requirements".`);
}

/** DynamoDB Local is a Java program; say so plainly rather than let the JVM fail to start. */
function checkJava(): void {
  const java = spawnSync('java', ['-version'], { encoding: 'utf8' });
  const error: NodeJS.ErrnoException | undefined = java.error;
  if (error?.code === 'ENOENT') {
    fail(
      'Java 17 or newer is needed for DynamoDB Local and "java" is not on PATH (Debian: apt-get install openjdk-17-jre-headless).',
    );
  }
  // `openjdk version "17.0.15"`, or `java version "1.8.0_402"` for Java 8.
  const version = /version "(\d+)(?:\.(\d+))?/.exec(`${java.stderr}${java.stdout}`);
  const major = version ? Number(version[1] === '1' ? version[2] : version[1]) : undefined;
  if (major !== undefined && major < 17) {
    fail(`Java 17 or newer is needed for DynamoDB Local; "java" on PATH is Java ${major}.`);
  }
}
checkJava();

// CloudWatch metrics (EMF lines on stdout) mean nothing on a laptop; the event lines below say more.
process.env.POWERTOOLS_METRICS_DISABLED ??= 'true';

function port(name: string, value: string | undefined, fallback: number): number {
  if (value === undefined || value === '') return fallback;
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed < 0 || parsed > 65_535) {
    fail(`${name} must be a port number (0-65535), not "${value}"`);
  }
  return parsed;
}

const { values } = parseArgs({
  options: {
    port: { type: 'string' },
    'sandbox-port': { type: 'string' },
    'data-dir': { type: 'string' },
  },
});

const { JavaMissingError } = await import('./aws/emulators.ts');
const { DEMO_PLANS } = await import('../functions/billing/index.ts');
const { parsePaypleMode, startLocalStack } = await import('./stack.ts');

let paypleMode: ReturnType<typeof parsePaypleMode>;
try {
  paypleMode = parsePaypleMode(process.env.PAYPLE_ENV);
} catch (error) {
  fail((error as Error).message);
}

// Ctrl-C may come while the engines are still starting: remember it and stop once they are up,
// so no emulator is left behind.
const lifecycle: { running?: LocalStack; pendingSignal?: NodeJS.Signals; stopping: boolean } = {
  stopping: false,
};
function stop(signal: NodeJS.Signals): void {
  if (!lifecycle.running) {
    lifecycle.pendingSignal ??= signal;
    return;
  }
  if (lifecycle.stopping) return;
  lifecycle.stopping = true;
  console.log(`\n${signal}: stopping the local stack`);
  lifecycle.running.stop().then(
    () => process.exit(0),
    (error: unknown) => {
      console.error('could not stop cleanly:', error);
      process.exit(1);
    },
  );
}
// SIGHUP: the terminal was closed.
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(signal, () => stop(signal));

const dataDir = values['data-dir'] ?? process.env.LOCAL_DATA_DIR;
let stack: LocalStack;
try {
  stack = await startLocalStack({
    port: port('PORT', values.port ?? process.env.PORT, 3000),
    sandboxPort: port('PAYPLE_SANDBOX_PORT', values['sandbox-port'] ?? process.env.PAYPLE_SANDBOX_PORT, 7878),
    dynamoDbPort: port('DYNAMODB_PORT', process.env.DYNAMODB_PORT, 0),
    sqsPort: port('SQS_PORT', process.env.SQS_PORT, 0),
    pollContinuously: true,
    payple: paypleMode,
    ...(dataDir ? { dataDir } : {}),
  });
} catch (error) {
  if (error instanceof JavaMissingError) fail(error.message);
  if ((error as NodeJS.ErrnoException).code === 'EADDRINUSE') {
    fail(
      `A port is taken (${(error as Error).message}): is another npm start running? Choose others with PORT=... PAYPLE_SANDBOX_PORT=...`,
    );
  }
  throw error;
}

const won = (amount: number) => `${amount.toLocaleString('en-US')} KRW`;
/** `2027-05-17 10:00:00 KST`: billing runs on Korean dates, so the terminal speaks KST too. */
const kst = (ms: number) =>
  `${new Date(ms + 9 * 3_600_000).toISOString().slice(0, 19).replace('T', ' ')} KST`;
const payple =
  stack.payple.mode === 'sandbox'
    ? `  Payple sandbox  ${stack.sandbox.url}   (admin API under /__sandbox/, see local/payple-sandbox/README.md)`
    : `  Payple          ${stack.payple.host}   (PAYPLE_ENV=demo: Payple's test host, Referer ${stack.gatewayUrl};
                  it may refuse localhost and 127.0.0.1; faults and the card switch need the sandbox)`;
console.log(`Local stack ready (clock: ${kst(stack.clock.now())})
  Console         ${stack.consoleUrl}   (time travel, payments, events, ledger, faults)
  Subscribe page  ${stack.gatewayUrl}/subscribe
  HTTP API        ${stack.gatewayUrl}
${payple}
  DynamoDB Local  ${stack.dynamoEndpoint}
  SQS (fauxqs)    ${stack.sqsEndpoint}
  Data folder     ${dataDir ?? '(none: everything is forgotten on Ctrl-C; LOCAL_DATA_DIR=.local-data keeps it)'}
  Plans           ${DEMO_PLANS.map((plan) => `${plan.goodsName} ${won(plan.amount)}`).join(' · ')}
Move the clock: curl -XPOST ${stack.gatewayUrl}/__local/clock -H 'content-type: application/json' -d '{"months":1}'
Ctrl-C stops everything.`);

// One readable line per domain event: what the merchant's other systems would receive.
stack.eventBus.subscribe((event) => {
  const detail = event.detail as { subscriptionId?: string; oid?: string; amount?: number; status?: string };
  // The OID starts with the subscription id: show one of them.
  const parts = [
    detail.oid ?? detail.subscriptionId,
    detail.amount === undefined ? undefined : won(detail.amount),
  ];
  console.log(
    `${kst(stack.clock.now())}  ${event.detailType.padEnd(38)} ${parts.filter(Boolean).join('  ')}  → ${detail.status ?? ''}`,
  );
});

lifecycle.running = stack;
if (lifecycle.pendingSignal) stop(lifecycle.pendingSignal);
