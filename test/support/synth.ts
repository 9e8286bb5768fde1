import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Stack } from 'aws-cdk-lib';
import { buildApp, type BillingApp } from '../../lib/app.ts';

/** A CloudFormation template as JSON. */
export interface Template {
  Resources: Record<string, { Type: string; Properties?: Record<string, unknown> }>;
}

/**
 * Builds the app into its own temporary `outdir` (the CDK would otherwise write into $TMPDIR and
 * leave it there), lets `change` add to it, synthesizes, and removes the folder afterwards.
 */
export function synthesize<T>(
  use: (built: BillingApp, templateOf: (stack: Stack) => Template) => T,
  change?: (built: BillingApp) => void,
): T {
  const outdir = mkdtempSync(join(tmpdir(), 'billing-synth-'));
  try {
    const built = buildApp({ outdir });
    change?.(built);
    const assembly = built.app.synth();
    const templateOf = (stack: Stack) =>
      JSON.parse(readFileSync(join(assembly.directory, stack.templateFile), 'utf8')) as Template;
    return use(built, templateOf);
  } finally {
    rmSync(outdir, { recursive: true, force: true });
  }
}

/** The cdk-nag report CDK writes next to the assembly, or the error synthesis threw. */
export function synthesizeValidation(change?: (built: BillingApp) => void): {
  error?: Error;
  report: ValidationReport;
} {
  const outdir = mkdtempSync(join(tmpdir(), 'billing-nag-'));
  try {
    const built = buildApp({ outdir });
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
