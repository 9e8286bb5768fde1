/**
 * `npm run sandbox`: the Payple sandbox on its own, for the local stack or a person with curl.
 *
 *   PAYPLE_SANDBOX_PORT=7878 PAYPLE_SANDBOX_WEBHOOK_URL=http://127.0.0.1:3000/webhooks/payple/x npm run sandbox
 *   npm run sandbox -- --port 7979 --webhook-url http://127.0.0.1:3000/...
 */
import { parseArgs } from 'node:util';
import { adminRoutes, startPaypleSandbox, testAccounts, testCards } from './index.ts';

const DEFAULT_PORT = 7878;

function portFrom(value: string | undefined): number {
  if (value === undefined || value === '') return DEFAULT_PORT;
  const port = Number(value);
  if (!Number.isInteger(port) || port < 0 || port > 65_535) throw new Error(`invalid port: ${value}`);
  return port;
}

const { values } = parseArgs({
  options: {
    port: { type: 'string' },
    host: { type: 'string' },
    'webhook-url': { type: 'string' },
  },
});

const sandbox = await startPaypleSandbox({
  port: portFrom(values.port ?? process.env['PAYPLE_SANDBOX_PORT']),
  host: values.host ?? process.env['PAYPLE_SANDBOX_HOST'] ?? '127.0.0.1',
  webhookUrl: values['webhook-url'] ?? process.env['PAYPLE_SANDBOX_WEBHOOK_URL'],
});

console.log(`Payple sandbox listening at ${sandbox.url}`);
console.log(`  partner auth:  POST ${sandbox.url}/php/auth.php  (cst_id=test, custKey=abcd1234567890)`);
console.log(`  window script: ${sandbox.url}/js/cpay.payple.1.0.1.js`);
console.log(`  webhooks to:   ${sandbox.admin.webhookUrl ?? '(none; PUT /__sandbox/webhook-url)'}`);
console.log(
  '  test cards:    ' +
    Object.entries(testCards)
      .map(([name, c]) => `${name}=${c.number}`)
      .join(' '),
);
console.log(
  '  test accounts: ' +
    Object.entries(testAccounts)
      .map(([name, a]) => `${name}=${a.number}`)
      .join(' '),
);
console.log('  admin API:');
for (const route of adminRoutes) console.log(`    ${route}`);

let stopping = false;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    if (stopping) return;
    stopping = true;
    console.log(`\n${signal}: stopping the Payple sandbox`);
    void sandbox.stop().then(() => {
      process.exitCode = 0;
    });
  });
}
