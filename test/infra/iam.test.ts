import { beforeAll, describe, expect, test } from 'vitest';
import type { BillingFunction } from '../../lib/constructs/billing-function.ts';
import type { FunctionName } from '../../lib/stacks/stateless-stack.ts';
import { deployed, type Deployed, SYNTH_TIMEOUT_MS } from '../support/synth.ts';
import { refs, resourcesOf, type Refs } from './template-refs.ts';

interface Statement {
  Effect: string;
  Action: string | string[];
  Resource: unknown;
  Condition?: unknown;
}

let app: Deployed;
let ref: Refs;

beforeAll(() => {
  app = deployed();
  ref = refs(app);
}, SYNTH_TIMEOUT_MS);

/** Every permission of a role, as `action on resource`, across all policies attached to it. */
function permissionsOf(roleLogicalId: string): string[] {
  const granted: string[] = [];
  for (const policy of resourcesOf(app.stateless, 'AWS::IAM::Policy')) {
    const roles = (policy.Properties.Roles as { Ref: string }[]).map((r) => r.Ref);
    if (!roles.includes(roleLogicalId)) continue;
    const statements = (policy.Properties.PolicyDocument as { Statement: Statement[] }).Statement;
    for (const statement of statements) {
      expect(statement.Effect).toBe('Allow');
      expect(statement.Condition).toBeUndefined();
      const actions = [statement.Action].flat();
      const resources = [statement.Resource].flat();
      for (const action of actions)
        for (const resource of resources) granted.push(`${action} on ${ref.name(resource)}`);
    }
  }
  return granted.sort();
}

const fn = (name: FunctionName): BillingFunction => app.built.stateless.functions[name];

const ownLogs = (name: string) => [
  `logs:CreateLogStream on logGroup:${name}.Arn`,
  `logs:PutLogEvents on logGroup:${name}.Arn`,
];
const tracing = ['xray:PutTelemetryRecords on *', 'xray:PutTraceSegments on *'];

describe('each function may do exactly what its code does, on its own resources only', () => {
  test('charger: claim and settle (Get/Put through transactions), outbox, bus, Payple secret, queue consumption', () => {
    expect(permissionsOf(ref.logicalId(fn('charger').role))).toEqual(
      [
        ...ownLogs('charger'),
        ...tracing,
        'dynamodb:GetItem on table:subscriptions.Arn',
        'dynamodb:PutItem on table:subscriptions.Arn',
        'dynamodb:GetItem on table:payments.Arn',
        'dynamodb:PutItem on table:payments.Arn',
        'dynamodb:PutItem on table:outbox.Arn',
        'dynamodb:BatchWriteItem on table:outbox.Arn',
        'events:PutEvents on eventBus.Arn',
        'secretsmanager:GetSecretValue on secret:paypleCredentials',
        'sqs:ReceiveMessage on queue:billing.Arn',
        'sqs:DeleteMessage on queue:billing.Arn',
        'sqs:ChangeMessageVisibility on queue:billing.Arn',
        'sqs:GetQueueAttributes on queue:billing.Arn',
        'sqs:GetQueueUrl on queue:billing.Arn',
      ].sort(),
    );
  });

  test('dispatcher: due index query, lease update, outbox relay, bus, send to the billing queue', () => {
    expect(permissionsOf(ref.logicalId(fn('dispatcher').role))).toEqual(
      [
        ...ownLogs('dispatcher'),
        ...tracing,
        'dynamodb:Query on table:subscriptions.Arn/index/due',
        'dynamodb:UpdateItem on table:subscriptions.Arn',
        'dynamodb:Scan on table:outbox.Arn',
        'dynamodb:BatchWriteItem on table:outbox.Arn',
        'events:PutEvents on eventBus.Arn',
        'sqs:SendMessage on queue:billing.Arn',
      ].sort(),
    );
  });

  test('reconciler: unsettled index query, lookup lease, settle (Get/Put), outbox, lookup budget, bus, secret', () => {
    expect(permissionsOf(ref.logicalId(fn('reconciler').role))).toEqual(
      [
        ...ownLogs('reconciler'),
        ...tracing,
        'dynamodb:GetItem on table:subscriptions.Arn',
        'dynamodb:PutItem on table:subscriptions.Arn',
        'dynamodb:GetItem on table:payments.Arn',
        'dynamodb:PutItem on table:payments.Arn',
        'dynamodb:UpdateItem on table:payments.Arn',
        'dynamodb:Query on table:payments.Arn/index/reconcile',
        'dynamodb:PutItem on table:outbox.Arn',
        'dynamodb:BatchWriteItem on table:outbox.Arn',
        'dynamodb:BatchGetItem on table:control.Arn',
        'dynamodb:PutItem on table:control.Arn',
        'dynamodb:ConditionCheckItem on table:control.Arn',
        'events:PutEvents on eventBus.Arn',
        'secretsmanager:GetSecretValue on secret:paypleCredentials',
      ].sort(),
    );
  });

  test.each(['dispatcher', 'reconciler'])(
    'the scheduler may invoke the %s and write to the schedule DLQ, nothing else',
    (name) => {
      const schedule = resourcesOf(app.stateless, 'AWS::Scheduler::Schedule').find(
        (s) => ref.name((s.Properties.Target as { Arn: unknown }).Arn) === `function:${name}.Arn`,
      )!;
      const roleId = (schedule.Properties.Target as { RoleArn: { 'Fn::GetAtt': [string] } }).RoleArn[
        'Fn::GetAtt'
      ][0];

      expect(permissionsOf(roleId)).toEqual(
        [
          `lambda:InvokeFunction on function:${name}.Arn`,
          `lambda:InvokeFunction on function:${name}.Arn:*`,
          'sqs:SendMessage on queue:scheduleDeadLetter.Arn',
        ].sort(),
      );
      const trust = app.stateless.Resources[roleId]!.Properties!.AssumeRolePolicyDocument as {
        Statement: { Principal: unknown; Condition: { StringEquals: Record<string, unknown> } }[];
      };
      expect(trust.Statement).toHaveLength(1);
      expect(trust.Statement[0]!.Principal).toEqual({ Service: 'scheduler.amazonaws.com' });
      expect(Object.keys(trust.Statement[0]!.Condition.StringEquals).sort()).toEqual([
        'aws:SourceAccount',
        'aws:SourceArn',
      ]);
    },
  );

  test('no role has a managed policy: AWSLambdaBasicExecutionRole would allow every log group', () => {
    for (const role of resourcesOf(app.stateless, 'AWS::IAM::Role')) {
      expect(role.Properties.ManagedPolicyArns, role.logicalId).toBeUndefined();
    }
  });

  test('no function may read the webhook path secret yet (the webhook function is still to come)', () => {
    const all = resourcesOf(app.stateless, 'AWS::IAM::Policy').flatMap((policy) =>
      (policy.Properties.PolicyDocument as { Statement: Statement[] }).Statement.flatMap((s) =>
        [s.Resource].flat().map((r) => ref.name(r)),
      ),
    );

    expect(all).not.toContain('secret:webhookPathSecret');
  });
});
