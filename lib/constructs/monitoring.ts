import { Annotations, Duration, RemovalPolicy } from 'aws-cdk-lib';
import {
  Alarm,
  AlarmStatusWidget,
  ComparisonOperator,
  Dashboard,
  TreatMissingData,
  type IMetric,
} from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import { PolicyStatement, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { Key } from 'aws-cdk-lib/aws-kms';
import { Topic } from 'aws-cdk-lib/aws-sns';
import { EmailSubscription } from 'aws-cdk-lib/aws-sns-subscriptions';
import { Construct } from 'constructs';

/** Where each alarm is explained; alarm names are the runbook's section headings. */
export const RUNBOOK = 'docs/runbook.md';

export interface MonitoringProps {
  /** Prefix of alarm and dashboard names, e.g. `PaypleBilling-prod`. */
  readonly prefix: string;
  readonly alarmEmail?: string;
  readonly production: boolean;
}

export interface AlarmSpec {
  /** PascalCase; the alarm is named `<prefix>-<name>` and has a section of that name in the runbook. */
  readonly name: string;
  /** What it means, in one sentence (shown in the notification). */
  readonly summary: string;
  readonly metric: IMetric;
  readonly threshold: number;
  /** @default 'atLeast' */
  readonly when?: 'atLeast' | 'below';
  /** @default 1 */
  readonly evaluationPeriods?: number;
  /** @default evaluationPeriods */
  readonly datapointsToAlarm?: number;
  /** @default NOT_BREACHING: no data means nothing happened */
  readonly missingData?: TreatMissingData;
}

/**
 * The alarm topic (KMS-encrypted, TLS only, optional e-mail subscription), the alarms and one
 * dashboard. Every alarm notifies the topic when it fires and when it recovers.
 */
export class Monitoring extends Construct {
  readonly topic: Topic;
  readonly dashboard: Dashboard;
  readonly alarms: Alarm[] = [];
  readonly #prefix: string;

  constructor(scope: Construct, id: string, props: MonitoringProps) {
    super(scope, id);
    this.#prefix = props.prefix;

    const key = new Key(this, 'AlarmTopicKey', {
      description: `${props.prefix}: encrypts the alarm topic`,
      enableKeyRotation: true,
      removalPolicy: RemovalPolicy.DESTROY,
      pendingWindow: Duration.days(7),
    });
    // CloudWatch publishes alarms to an encrypted topic only if the key lets it; the AWS managed
    // aws/sns key cannot be given that permission, hence a key of our own.
    key.addToResourcePolicy(
      new PolicyStatement({
        principals: [new ServicePrincipal('cloudwatch.amazonaws.com')],
        actions: ['kms:Decrypt', 'kms:GenerateDataKey*'],
        resources: ['*'],
      }),
    );
    this.topic = new Topic(this, 'AlarmTopic', {
      displayName: `${props.prefix} alarms`,
      masterKey: key,
      enforceSSL: true,
    });
    if (props.alarmEmail) {
      this.topic.addSubscription(new EmailSubscription(props.alarmEmail));
    } else if (props.production) {
      Annotations.of(this).addWarningV2(
        'payple-billing:noAlarmEmail',
        'config.alarms.email is not set: subscribe someone to the alarm topic, or nobody hears the alarms',
      );
    }

    this.dashboard = new Dashboard(this, 'Dashboard', { dashboardName: props.prefix });
  }

  /** Creates an alarm that notifies the topic on ALARM and on OK. */
  alarm(spec: AlarmSpec): Alarm {
    const evaluationPeriods = spec.evaluationPeriods ?? 1;
    const alarm = new Alarm(this, spec.name, {
      alarmName: `${this.#prefix}-${spec.name}`,
      alarmDescription: `${spec.summary} Runbook: ${RUNBOOK}, section ${spec.name}.`,
      metric: spec.metric,
      threshold: spec.threshold,
      comparisonOperator:
        spec.when === 'below'
          ? ComparisonOperator.LESS_THAN_THRESHOLD
          : ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      evaluationPeriods,
      datapointsToAlarm: spec.datapointsToAlarm ?? evaluationPeriods,
      treatMissingData: spec.missingData ?? TreatMissingData.NOT_BREACHING,
    });
    const action = new SnsAction(this.topic);
    alarm.addAlarmAction(action);
    alarm.addOkAction(action);
    this.alarms.push(alarm);
    return alarm;
  }

  /** The dashboard's last row: the state of every alarm created so far. */
  addAlarmStatus(): void {
    this.dashboard.addWidgets(
      new AlarmStatusWidget({ title: 'Alarms', alarms: [...this.alarms], width: 24 }),
    );
  }
}
