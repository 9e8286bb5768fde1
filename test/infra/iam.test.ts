import { beforeAll, describe, expect, test } from 'vitest';
import type { BillingFunction } from '../../lib/constructs/billing-function.ts';
import { routes } from '../../lib/resources.ts';
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

  test('reconciler: unsettled index query, lookup lease, settle (Get/Put), outbox, lookup budget and unrecorded payments, bus, secret', () => {
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
        'dynamodb:GetItem on table:control.Arn',
        'dynamodb:UpdateItem on table:control.Arn',
        'events:PutEvents on eventBus.Arn',
        'secretsmanager:GetSecretValue on secret:paypleCredentials',
      ].sort(),
    );
  });

  test('checkout: new sessions and their failure, the subscription a replacement names, the Payple secret', () => {
    expect(permissionsOf(ref.logicalId(fn('checkout').role))).toEqual(
      [
        ...ownLogs('checkout'),
        ...tracing,
        'dynamodb:PutItem on table:checkoutSessions.Arn',
        'dynamodb:UpdateItem on table:checkoutSessions.Arn',
        'dynamodb:GetItem on table:subscriptions.Arn',
        'secretsmanager:GetSecretValue on secret:paypleCredentials',
      ].sort(),
    );
  });

  test('return: the session, create and settle (Get/Put through transactions), outbox, lookup budget, bus, queue, secret', () => {
    expect(permissionsOf(ref.logicalId(fn('return').role))).toEqual(
      [
        ...ownLogs('return'),
        ...tracing,
        'dynamodb:GetItem on table:checkoutSessions.Arn',
        'dynamodb:UpdateItem on table:checkoutSessions.Arn',
        'dynamodb:GetItem on table:subscriptions.Arn',
        'dynamodb:PutItem on table:subscriptions.Arn',
        'dynamodb:GetItem on table:payments.Arn',
        'dynamodb:PutItem on table:payments.Arn',
        'dynamodb:PutItem on table:outbox.Arn',
        'dynamodb:BatchWriteItem on table:outbox.Arn',
        'dynamodb:BatchGetItem on table:control.Arn',
        'dynamodb:PutItem on table:control.Arn',
        'dynamodb:ConditionCheckItem on table:control.Arn',
        'events:PutEvents on eventBus.Arn',
        'sqs:SendMessage on queue:billing.Arn',
        'secretsmanager:GetSecretValue on secret:paypleCredentials',
      ].sort(),
    );
  });

  test('webhook: settle (Get/Put through transactions), subscriptions by billing key, outbox, unrecorded payments, bus, both secrets', () => {
    expect(permissionsOf(ref.logicalId(fn('webhook').role))).toEqual(
      [
        ...ownLogs('webhook'),
        ...tracing,
        'dynamodb:GetItem on table:subscriptions.Arn',
        'dynamodb:PutItem on table:subscriptions.Arn',
        'dynamodb:Query on table:subscriptions.Arn/index/byBillingKey',
        'dynamodb:GetItem on table:payments.Arn',
        'dynamodb:PutItem on table:payments.Arn',
        'dynamodb:PutItem on table:outbox.Arn',
        'dynamodb:BatchWriteItem on table:outbox.Arn',
        'dynamodb:UpdateItem on table:control.Arn',
        'dynamodb:PutItem on table:control.Arn',
        'events:PutEvents on eventBus.Arn',
        'secretsmanager:GetSecretValue on secret:webhookPathSecret',
        'secretsmanager:GetSecretValue on secret:paypleCredentials',
      ].sort(),
    );
  });

  test.each(['checkout', 'return', 'webhook'] as const)(
    'API Gateway may invoke the %s from this API on its own routes only, nobody else may',
    (name) => {
      const permissions = resourcesOf(app.stateless, 'AWS::Lambda::Permission')
        .filter((p) => ref.name(p.Properties.FunctionName) === `function:${name}.Arn`)
        .map((p) => `${String(p.Properties.Principal)} ${ref.name(p.Properties.SourceArn)}`);
      const expected = Object.values(routes)
        .filter((route) => route.functionId === name)
        .map(
          (route) =>
            `apigateway.amazonaws.com arn:{AWS::Partition}:execute-api:{AWS::Region}:{AWS::AccountId}:api/*/*${route.path}`,
        );

      expect(permissions.sort()).toEqual(expected.sort());
    },
  );

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

  test('operations: release holds (scan, Get/Put through transactions), settle, refunds, subscriptions by billing key, outbox, unrecorded-payment reports, bus, Payple secret', () => {
    expect(permissionsOf(ref.logicalId(fn('operations').role))).toEqual(
      [
        ...ownLogs('operations'),
        ...tracing,
        'dynamodb:GetItem on table:subscriptions.Arn',
        'dynamodb:PutItem on table:subscriptions.Arn',
        'dynamodb:Scan on table:subscriptions.Arn',
        'dynamodb:Query on table:subscriptions.Arn/index/byBillingKey',
        'dynamodb:GetItem on table:payments.Arn',
        'dynamodb:PutItem on table:payments.Arn',
        'dynamodb:PutItem on table:outbox.Arn',
        'dynamodb:BatchWriteItem on table:outbox.Arn',
        'dynamodb:GetItem on table:control.Arn',
        'dynamodb:UpdateItem on table:control.Arn',
        'events:PutEvents on eventBus.Arn',
        'secretsmanager:GetSecretValue on secret:paypleCredentials',
      ].sort(),
    );
  });

  test('no role has a managed policy: AWSLambdaBasicExecutionRole would allow every log group', () => {
    for (const role of resourcesOf(app.stateless, 'AWS::IAM::Role')) {
      expect(role.Properties.ManagedPolicyArns, role.logicalId).toBeUndefined();
    }
  });

  test('only the webhook may read the webhook path secret', () => {
    const readers = resourcesOf(app.stateless, 'AWS::IAM::Policy')
      .filter((policy) =>
        (policy.Properties.PolicyDocument as { Statement: Statement[] }).Statement.some((s) =>
          [s.Resource].flat().some((r) => ref.name(r) === 'secret:webhookPathSecret'),
        ),
      )
      .flatMap((policy) => (policy.Properties.Roles as { Ref: string }[]).map((r) => r.Ref));

    expect(readers).toEqual([ref.logicalId(fn('webhook').role)]);
  });
});
