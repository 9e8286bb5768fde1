import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, test } from 'vitest';
import { PROJECT_ROOT } from '../../lib/constructs/billing-function.ts';
import { METRICS_NAMESPACE } from '../../functions/shared/observability.ts';
import { deployed, TEST_CONFIG, type Deployed, SYNTH_TIMEOUT_MS } from '../support/synth.ts';
import { refs, resourcesOf, type Refs } from './template-refs.ts';

let app: Deployed;
let ref: Refs;

beforeAll(() => {
  app = deployed();
  ref = refs(app);
}, SYNTH_TIMEOUT_MS);

interface AlarmProps {
  AlarmName: string;
  AlarmDescription: string;
  Namespace: string;
  MetricName: string;
  Dimensions?: { Name: string; Value: unknown }[];
  Statistic: string;
  Period: number;
  Threshold: number;
  ComparisonOperator: string;
  EvaluationPeriods: number;
  DatapointsToAlarm: number;
  TreatMissingData: string;
  AlarmActions: unknown[];
  OKActions: unknown[];
}

const alarms = () =>
  resourcesOf(app.stateless, 'AWS::CloudWatch::Alarm').map((a) => a.Properties as unknown as AlarmProps);

/** What an alarm watches and when it fires, with references named. */
function watch(alarm: AlarmProps) {
  const dimensions = Object.fromEntries((alarm.Dimensions ?? []).map((d) => [d.Name, ref.name(d.Value)]));
  const comparison = alarm.ComparisonOperator === 'LessThanThreshold' ? '<' : '>=';
  return {
    metric: `${alarm.Namespace} ${alarm.MetricName} ${JSON.stringify(dimensions)}`,
    fires: `${alarm.Statistic} ${comparison} ${alarm.Threshold} per ${alarm.Period}s in ${alarm.DatapointsToAlarm} of ${alarm.EvaluationPeriods}`,
    missing: alarm.TreatMissingData,
  };
}

describe('alarms', () => {
  test('the set of alarms and what each one watches', () => {
    const byName = Object.fromEntries(
      alarms().map((alarm) => [alarm.AlarmName.replace('PaypleBilling-dev-', ''), watch(alarm)]),
    );
    const billing = (metric: string, service: string) =>
      `${METRICS_NAMESPACE} ${metric} ${JSON.stringify({ service })}`;

    expect(byName).toEqual({
      BillingDeadLetterQueueNotEmpty: {
        metric: `AWS/SQS ApproximateNumberOfMessagesVisible {"QueueName":"queue:billingDeadLetter.QueueName"}`,
        fires: 'Maximum >= 1 per 300s in 1 of 1',
        missing: 'notBreaching',
      },
      BillingQueueStalled: {
        metric: `AWS/SQS ApproximateAgeOfOldestMessage {"QueueName":"queue:billing.QueueName"}`,
        fires: 'Maximum >= 3600 per 300s in 2 of 2',
        missing: 'notBreaching',
      },
      ChargerErrors: {
        metric: `AWS/Lambda Errors {"FunctionName":"function:charger"}`,
        fires: 'Sum >= 1 per 300s in 1 of 1',
        missing: 'notBreaching',
      },
      PaypleConfigurationErrors: {
        metric: billing('PaypleConfigurationErrors', 'charger'),
        fires: 'Sum >= 1 per 300s in 1 of 1',
        missing: 'notBreaching',
      },
      ChargeOutcomesUnknown: {
        metric: billing('ChargeOutcomesUnknown', 'charger'),
        fires: 'Sum >= 5 per 600s in 2 of 3',
        missing: 'notBreaching',
      },
      ChargeJobsFailed: {
        metric: billing('ChargeJobsFailed', 'charger'),
        fires: 'Sum >= 1 per 600s in 2 of 2',
        missing: 'notBreaching',
      },
      DispatcherErrors: {
        metric: `AWS/Lambda Errors {"FunctionName":"function:dispatcher"}`,
        fires: 'Sum >= 1 per 600s in 1 of 1',
        missing: 'notBreaching',
      },
      ChargeJobsNotEnqueued: {
        metric: billing('ChargeJobsNotEnqueued', 'dispatcher'),
        fires: 'Sum >= 1 per 600s in 1 of 1',
        missing: 'notBreaching',
      },
      ScheduleDeadLetterQueueNotEmpty: {
        metric: `AWS/SQS ApproximateNumberOfMessagesVisible {"QueueName":"queue:scheduleDeadLetter.QueueName"}`,
        fires: 'Maximum >= 1 per 300s in 1 of 1',
        missing: 'notBreaching',
      },
      // Two runs of the 10-minute charge schedule missed; no data is an alarm here.
      DispatcherNotRunning: {
        metric: `AWS/Lambda Invocations {"FunctionName":"function:dispatcher"}`,
        fires: 'Sum < 1 per 1200s in 1 of 1',
        missing: 'breaching',
      },
      ReconcilerErrors: {
        metric: `AWS/Lambda Errors {"FunctionName":"function:reconciler"}`,
        fires: 'Sum >= 1 per 600s in 1 of 1',
        missing: 'notBreaching',
      },
      PaymentsNeedingReview: {
        metric: billing('PaymentsNeedingReview', 'reconciler'),
        fires: 'Sum >= 1 per 300s in 1 of 1',
        missing: 'notBreaching',
      },
      LookupBudgetExhausted: {
        metric: billing('LookupBudgetExhausted', 'reconciler'),
        fires: 'Sum >= 1 per 600s in 3 of 3',
        missing: 'notBreaching',
      },
      ReconcilerNotRunning: {
        metric: `AWS/Lambda Invocations {"FunctionName":"function:reconciler"}`,
        fires: 'Sum < 1 per 600s in 1 of 1',
        missing: 'breaching',
      },
    });
  });

  test('every alarm notifies the alarm topic when it fires and when it recovers', () => {
    for (const alarm of alarms()) {
      expect(
        alarm.AlarmActions.map((action) => ref.name(action)),
        alarm.AlarmName,
      ).toEqual(['topic:alarms']);
      expect(
        alarm.OKActions.map((action) => ref.name(action)),
        alarm.AlarmName,
      ).toEqual(['topic:alarms']);
    }
  });

  test('every alarm has a section of its name in the runbook', () => {
    const runbook = readFileSync(join(PROJECT_ROOT, 'docs/runbook.md'), 'utf8');

    for (const alarm of alarms()) {
      const name = alarm.AlarmName.replace('PaypleBilling-dev-', '');
      expect(runbook, name).toMatch(new RegExp(`^## ${name}$`, 'm'));
      expect(alarm.AlarmDescription).toContain(`section ${name}`);
    }
  });
});

describe('the alarm topic', () => {
  test('is encrypted with a rotating key that CloudWatch may use, and refuses plain HTTP', () => {
    const [topic] = resourcesOf(app.stateless, 'AWS::SNS::Topic');
    const keyId = (topic!.Properties.KmsMasterKeyId as { 'Fn::GetAtt': [string, string] })['Fn::GetAtt'][0];
    const key = app.stateless.Resources[keyId]!.Properties!;
    const keyStatements = (key.KeyPolicy as { Statement: { Principal: unknown; Action: unknown }[] })
      .Statement;
    const topicPolicy = resourcesOf(app.stateless, 'AWS::SNS::TopicPolicy')[0]!.Properties.PolicyDocument as {
      Statement: { Effect: string; Condition?: unknown }[];
    };

    expect(key.EnableKeyRotation).toBe(true);
    expect(keyStatements).toContainEqual(
      expect.objectContaining({
        Principal: { Service: 'cloudwatch.amazonaws.com' },
        Action: ['kms:Decrypt', 'kms:GenerateDataKey*'],
      }),
    );
    expect(topicPolicy.Statement).toContainEqual(
      expect.objectContaining({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
    );
  });

  test('sends to the configured e-mail address', () => {
    const subscriptions = resourcesOf(app.stateless, 'AWS::SNS::Subscription').map((s) => ({
      protocol: s.Properties.Protocol,
      endpoint: s.Properties.Endpoint,
      topic: ref.name(s.Properties.TopicArn),
    }));

    expect(subscriptions).toEqual([
      { protocol: 'email', endpoint: TEST_CONFIG.alarms.email, topic: 'topic:alarms' },
    ]);
  });
});

describe('the dashboard', () => {
  test('shows the charge outcomes, the queues, the functions and the state of every alarm', () => {
    const [dashboard] = resourcesOf(app.stateless, 'AWS::CloudWatch::Dashboard');
    const body = JSON.stringify(dashboard!.Properties.DashboardBody);

    for (const metric of [
      'ChargesSucceeded',
      'ChargeOutcomesUnknown',
      'ApproximateAgeOfOldestMessage',
      'Errors',
    ]) {
      expect(body).toContain(metric);
    }
    expect(body).toContain('"type\\":\\"alarm\\"');
  });
});
