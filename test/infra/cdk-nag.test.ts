import { HttpMethod, HttpRoute, HttpRouteKey } from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import { Queue } from 'aws-cdk-lib/aws-sqs';
import { describe, expect, test } from 'vitest';
import { routes } from '../../lib/resources.ts';
import { deployed, SYNTH_TIMEOUT_MS, synthesizeValidation } from '../support/synth.ts';

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

  test(
    'a route added without an authorizer or a reason fails AwsSolutions-APIG4',
    () => {
      const { error, report } = synthesizeValidation(({ stateless }) => {
        new HttpRoute(stateless.api, 'Unreviewed', {
          httpApi: stateless.api.httpApi,
          routeKey: HttpRouteKey.with('/unreviewed', HttpMethod.GET),
          integration: new HttpLambdaIntegration('Unreviewed', stateless.functions.checkout.function),
        });
      });

      expect(error?.message).toMatch(/AwsSolutions-APIG4/);
      expect(findings(report)).toEqual([
        'AwsSolutions-APIG4 PaypleBilling-dev-Stateless/Edge/Unreviewed/Resource',
      ]);
    },
    SYNTH_TIMEOUT_MS,
  );

  test(
    'every acknowledgement gives a reason; the API routes are the only ones without an authorizer',
    () => {
      const { built } = deployed();
      const acknowledged = built.app.node.findAll().flatMap((construct) =>
        construct.node.metadata
          .filter((entry) => entry.type === 'aws:cdk:acknowledged-rules')
          .flatMap((entry) =>
            Object.entries(entry.data as Record<string, string>).map(([rule, reason]) => ({
              path: construct.node.path,
              rule: rule.replace(/^Annotation::/, ''),
              reason,
            })),
          ),
      );

      for (const { path, rule, reason } of acknowledged)
        expect(reason.length, `${rule} ${path}`).toBeGreaterThan(60);
      expect(
        acknowledged
          .filter((a) => a.rule === 'AwsSolutions-APIG4')
          .map((a) => a.path)
          .sort(),
      ).toEqual(
        Object.keys(routes)
          .map((name) => `PaypleBilling-dev-Stateless/Edge/${name}`)
          .sort(),
      );
      expect([...new Set(acknowledged.map((a) => a.rule.replace(/\[.*$/, '')))].sort()).toEqual([
        'AwsSolutions-APIG4',
        'AwsSolutions-IAM5',
        'AwsSolutions-SMG4',
        'AwsSolutions-SQS3',
      ]);
    },
    SYNTH_TIMEOUT_MS,
  );
});
