import { App, Validations, type AppProps } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { configFromContext, type BillingConfig } from './config.ts';
import { StatefulStack } from './stacks/stateful-stack.ts';
import { StatelessStack } from './stacks/stateless-stack.ts';

export interface BillingApp {
  readonly app: App;
  readonly config: BillingConfig;
  readonly stateful: StatefulStack;
  readonly stateless: StatelessStack;
}

/**
 * Builds the whole CDK app from the configuration in its context (`lib/config.ts`). `bin/app.ts`
 * calls it for `cdk synth`/`cdk deploy`, and the infrastructure tests call it with their own
 * `outdir` and context. cdk-nag's AwsSolutions checks run on every synthesis, so an unacknowledged
 * finding fails `cdk synth` and the tests alike.
 */
export function buildApp(props: AppProps = {}): BillingApp {
  const app = new App(props);
  const config = configFromContext(app.node);
  const prefix = `PaypleBilling-${config.stage}`;
  const stateful = new StatefulStack(app, `${prefix}-Stateful`, {
    description: 'Payple recurring billing: tables, queues, event bus and secrets (retained)',
  });
  const stateless = new StatelessStack(app, `${prefix}-Stateless`, {
    description: 'Payple recurring billing: functions, schedules, alarms and dashboard',
    config,
    resources: stateful,
  });
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  return { app, config, stateful, stateless };
}
