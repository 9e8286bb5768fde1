/**
 * `npm start`: the whole system on this machine, until Ctrl-C.
 *
 *   PORT=3000 PAYPLE_SANDBOX_PORT=7878 LOCAL_DATA_DIR=.local-data npm start
 */
import { parseArgs } from 'node:util';
import { JavaMissingError } from './aws/emulators.ts';
import { startLocalStack, type LocalStack } from './stack.ts';

const nodeMajor = Number(process.versions.node.split('.')[0]);
if (nodeMajor < 24) {
  console.error(`Node.js 24 or newer is needed (this is ${process.version}); see README.md, "Requirements".`);
  process.exit(1);
}

// CloudWatch metrics (EMF lines on stdout) mean nothing on a laptop; the event lines below say more.
process.env.POWERTOOLS_METRICS_DISABLED ??= 'true';

function port(name: string, value: string | undefined, fallback: number): number {
  if (value === undefined || value === '') return fallback;
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed < 0 || parsed > 65_535) {
    console.error(`${name} must be a port number (0-65535), not "${value}"`);
    process.exit(1);
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
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => stop(signal));

let stack: LocalStack;
try {
  stack = await startLocalStack({
    port: port('PORT', values.port ?? process.env.PORT, 3000),
    sandboxPort: port('PAYPLE_SANDBOX_PORT', values['sandbox-port'] ?? process.env.PAYPLE_SANDBOX_PORT, 7878),
    dynamoDbPort: port('DYNAMODB_PORT', process.env.DYNAMODB_PORT, 0),
    sqsPort: port('SQS_PORT', process.env.SQS_PORT, 0),
    pollContinuously: true,
    ...((values['data-dir'] ?? process.env.LOCAL_DATA_DIR)
      ? { dataDir: values['data-dir'] ?? process.env.LOCAL_DATA_DIR }
      : {}),
  });
} catch (error) {
  if (error instanceof JavaMissingError) {
    console.error(error.message);
    process.exit(1);
  }
  throw error;
}

console.log(`Local stack ready (clock: ${new Date(stack.clock.now()).toISOString()})
  Subscribe page  ${stack.gatewayUrl}/subscribe
  HTTP API        ${stack.gatewayUrl}
  Payple sandbox  ${stack.sandbox.url}   (admin API under /__sandbox/, see local/payple-sandbox/README.md)
  DynamoDB Local  ${stack.dynamoEndpoint}
  SQS (fauxqs)    ${stack.sqsEndpoint}
Ctrl-C stops everything.`);

// One readable line per domain event: what the merchant's other systems would receive.
stack.eventBus.subscribe((event) => {
  const detail = event.detail as { subscriptionId?: string; oid?: string; amount?: number; status?: string };
  const at = new Date(stack.clock.now()).toISOString();
  const parts = [
    detail.subscriptionId,
    detail.oid,
    detail.amount === undefined ? undefined : `${detail.amount} KRW`,
  ];
  console.log(
    `${at}  ${event.detailType.padEnd(34)} ${parts.filter(Boolean).join('  ')}  → ${detail.status ?? ''}`,
  );
});

lifecycle.running = stack;
if (lifecycle.pendingSignal) stop(lifecycle.pendingSignal);
