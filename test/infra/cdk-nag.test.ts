import { Queue } from 'aws-cdk-lib/aws-sqs';
import { describe, expect, test } from 'vitest';
import { SYNTH_TIMEOUT_MS, synthesizeValidation } from '../support/synth.ts';

function findings(report: ReturnType<typeof synthesizeValidation>['report']): string[] {
  return report.pluginReports.flatMap((plugin) =>
    plugin.violations.flatMap((v) => v.violatingConstructs.map((c) => `${v.ruleName} ${c.constructPath}`)),
  );
}

describe('cdk-nag AwsSolutions checks', () => {
  test(
    'the app synthesizes with no unacknowledged finding',
    () => {
      const { error, report } = synthesizeValidation();

      expect(findings(report)).toEqual([]);
      expect(error).toBeUndefined();
    },
    SYNTH_TIMEOUT_MS,
  );

  test(
    'a new unacknowledged finding fails synthesis and is named in the report',
    () => {
      const { error, report } = synthesizeValidation(({ stateful }) => {
        new Queue(stateful, 'QueueWithoutTls', { enforceSSL: false });
      });

      expect(error?.message).toMatch(/AwsSolutions-SQS4/);
      expect(findings(report)).toContain(
        'AwsSolutions-SQS4 PaypleBilling-dev-Stateful/QueueWithoutTls/Resource',
      );
    },
    SYNTH_TIMEOUT_MS,
  );
});
