import { App, Validations, type AppProps } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { StatefulStack } from './stacks/stateful-stack.ts';

export interface BillingApp {
  readonly app: App;
  readonly stateful: StatefulStack;
}

/**
 * Builds the whole CDK app. `bin/app.ts` calls it for `cdk synth`/`cdk deploy`, and the
 * infrastructure tests call it with their own `outdir`. cdk-nag's AwsSolutions checks run on every
 * synthesis, so an unacknowledged finding fails `cdk synth` and the tests alike.
 */
export function buildApp(props: AppProps = {}): BillingApp {
  const app = new App(props);
  const stage = String(app.node.tryGetContext('stage') ?? 'dev');
  const stateful = new StatefulStack(app, `PaypleBilling-${stage}-Stateful`, {
    description: 'Payple recurring billing: tables, queues and the event bus (retained)',
  });
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  return { app, stateful };
}
