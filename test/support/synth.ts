import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Stack } from 'aws-cdk-lib';
import { RetentionDays } from 'aws-cdk-lib/aws-logs';
import { buildApp, type BillingApp } from '../../lib/app.ts';
import { PROJECT_ROOT } from '../../lib/constructs/billing-function.ts';
import type { BillingConfigInput } from '../../lib/config.ts';

/** A CloudFormation template as JSON. */
export interface Template {
  Resources: Record<
    string,
    {
      Type: string;
      Properties?: Record<string, unknown>;
      DeletionPolicy?: string;
      UpdateReplacePolicy?: string;
    }
  >;
  Outputs?: Record<string, { Value: unknown; Export?: { Name: string } }>;
}

/** The configuration the infrastructure tests deploy unless a test passes its own. */
export const TEST_CONFIG = {
  payple: { environment: 'test', referer: 'https://shop.example.com' },
  charger: { maxConcurrency: 4 },
  alarms: { email: 'billing-alarms@example.com' },
  checkout: { allowedRedirectUrls: ['https://shop.example.com/billing/done'] },
  logRetentionDays: RetentionDays.SIX_MONTHS,
} as const satisfies BillingConfigInput;

/**
 * A synthesis (cdk-nag included, bundling when asked) takes seconds alone and much longer on a busy
 * machine: hooks and tests that synthesize get this instead of the default timeouts.
 */
export const SYNTH_TIMEOUT_MS = 180_000;

export interface SynthOptions {
  /** The `config` context: an object, or a JSON file's path. @default TEST_CONFIG */
  readonly config?: unknown;
  /** More context, e.g. `{ stage: 'prod' }`. */
  readonly context?: Record<string, unknown>;
  /**
   * Run esbuild for every function. Off by default: only the tests that read the bundles need
   * them, and bundling is most of a synthesis's time.
   */
  readonly bundle?: boolean;
}

/** cdk.json's feature flags: the tests synthesize what `cdk synth` and `cdk deploy` do. */
const FEATURE_FLAGS = Object.fromEntries(
  Object.entries(
    (JSON.parse(readFileSync(join(PROJECT_ROOT, 'cdk.json'), 'utf8')) as { context: Record<string, unknown> })
      .context,
  ).filter(([key]) => key.startsWith('@aws-cdk/')),
);

function contextOf(options: SynthOptions): Record<string, unknown> {
  return {
    ...FEATURE_FLAGS,
    config: options.config ?? TEST_CONFIG,
    ...(options.bundle ? {} : { 'aws:cdk:bundling-stacks': [] }),
    ...options.context,
  };
}

/**
 * Builds the app into its own temporary `outdir` (the CDK would otherwise write into $TMPDIR and
 * leave it there), lets `change` add to it, synthesizes, and removes the folder afterwards.
 */
export function synthesize<T>(
  use: (built: BillingApp, templateOf: (stack: Stack) => Template, outdir: string) => T,
  change?: (built: BillingApp) => void,
  options: SynthOptions = {},
): T {
  const outdir = mkdtempSync(join(tmpdir(), 'billing-synth-'));
  try {
    const built = buildApp({ outdir, context: contextOf(options) });
    change?.(built);
    const assembly = built.app.synth();
    const templateOf = (stack: Stack) =>
      JSON.parse(readFileSync(join(assembly.directory, stack.templateFile), 'utf8')) as Template;
    return use(built, templateOf, outdir);
  } finally {
    rmSync(outdir, { recursive: true, force: true });
  }
}

/** One function's bundle as CDK staged it: its files, read into memory. */
export interface Bundle {
  readonly files: Record<string, string>;
}

/** A synthesized app whose templates and bundles stay in memory after its `outdir` is gone. */
export interface Deployed {
  readonly built: BillingApp;
  readonly stateful: Template;
  readonly stateless: Template;
  /** The bundle of a `AWS::Lambda::Function` of the stateless stack, by logical id. */
  bundleOf(logicalId: string): Bundle;
}

const deployedCache = new Map<string, Deployed>();

/**
 * The app as `cdk deploy` would see it with {@link TEST_CONFIG}, synthesized once per test file
 * (with bundling when `bundle` is set) and shared by its tests.
 */
export function deployed(options: { readonly bundle?: boolean } = {}): Deployed {
  const key = options.bundle ? 'bundled' : 'unbundled';
  const cached = deployedCache.get(key);
  if (cached) return cached;
  const result = synthesize(
    (built, templateOf, outdir) => {
      const stateless = templateOf(built.stateless);
      const bundles = new Map<string, Bundle>();
      for (const [logicalId, resource] of Object.entries(stateless.Resources)) {
        if (resource.Type !== 'AWS::Lambda::Function') continue;
        const key = (resource.Properties?.Code as { S3Key?: string } | undefined)?.S3Key ?? '';
        const folder = join(outdir, `asset.${key.replace(/\.zip$/, '')}`);
        const files: Record<string, string> = {};
        if (existsSync(folder)) {
          for (const name of readdirSync(folder)) files[name] = readFileSync(join(folder, name), 'utf8');
        }
        bundles.set(logicalId, { files });
      }
      return {
        built,
        stateful: templateOf(built.stateful),
        stateless,
        bundleOf(logicalId: string): Bundle {
          const bundle = bundles.get(logicalId);
          if (!bundle) throw new Error(`no function ${logicalId} in the stateless template`);
          return bundle;
        },
      };
    },
    undefined,
    { bundle: options.bundle ?? false },
  );
  deployedCache.set(key, result);
  return result;
}

/** The cdk-nag report CDK writes next to the assembly, or the error synthesis threw. */
export function synthesizeValidation(
  change?: (built: BillingApp) => void,
  options: SynthOptions = {},
): {
  error?: Error;
  report: ValidationReport;
} {
  const outdir = mkdtempSync(join(tmpdir(), 'billing-nag-'));
  try {
    const built = buildApp({ outdir, context: contextOf(options) });
    change?.(built);
    let error: Error | undefined;
    try {
      built.app.synth();
    } catch (caught) {
      error = caught as Error;
    }
    const report = JSON.parse(
      readFileSync(join(outdir, 'validation-report.json'), 'utf8'),
    ) as ValidationReport;
    return error ? { error, report } : { report };
  } finally {
    rmSync(outdir, { recursive: true, force: true });
  }
}

export interface ValidationReport {
  pluginReports: {
    pluginName: string;
    conclusion: string;
    violations: { ruleName: string; severity: string; violatingConstructs: { constructPath: string }[] }[];
  }[];
}
