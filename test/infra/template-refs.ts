/**
 * Reads CloudFormation references back as names the tests can compare: `table:payments.Arn`,
 * `queue:billing`, `secret:paypleCredentials`, `function:dispatcher.Arn`, `api.ApiEndpoint`. An `Fn::ImportValue` is
 * followed to the stateful stack's export, so a cross-stack reference names what it points at.
 */
import { CfnElement, type Stack } from 'aws-cdk-lib';
import type { IConstruct } from 'constructs';
import { queues, tables, type QueueName, type TableName } from '../../lib/resources.ts';
import type { Deployed, Template } from '../support/synth.ts';

export interface Refs {
  /** `{Ref}`, `{Fn::GetAtt}`, `{Fn::ImportValue}` and `{Fn::Join}` as one readable string. */
  name(value: unknown): string;
  /** The logical id of a construct's CloudFormation resource. */
  logicalId(construct: IConstruct): string;
}

export function refs(deployed: Deployed): Refs {
  const { built } = deployed;
  const labels = new Map<string, string>();
  const logicalIdIn = (stack: Stack, construct: IConstruct) => {
    const element = construct.node.defaultChild ?? construct;
    if (!CfnElement.isCfnElement(element))
      throw new Error(`${construct.node.path} has no CloudFormation resource`);
    return stack.getLogicalId(element);
  };
  const label = (stack: Stack, construct: IConstruct, name: string) =>
    labels.set(logicalIdIn(stack, construct), name);

  for (const name of Object.keys(tables) as TableName[])
    label(built.stateful, built.stateful.tables[name], `table:${name}`);
  for (const name of Object.keys(queues) as QueueName[])
    label(built.stateful, built.stateful.queues[name], `queue:${name}`);
  label(built.stateful, built.stateful.eventBus, 'eventBus');
  label(built.stateful, built.stateful.paypleCredentials, 'secret:paypleCredentials');
  label(built.stateful, built.stateful.webhookPathSecret, 'secret:webhookPathSecret');
  for (const fn of Object.values(built.stateless.functions)) {
    label(built.stateless, fn.function, `function:${fn.serviceName}`);
    label(built.stateless, fn.logGroup, `logGroup:${fn.serviceName}`);
  }
  label(built.stateless, built.stateless.scheduleDeadLetterQueue, 'queue:scheduleDeadLetter');
  label(built.stateless, built.stateless.api.httpApi, 'api');
  label(built.stateless, built.stateless.api.accessLogs, 'logGroup:apiAccess');
  label(built.stateless, built.stateless.monitoring.topic, 'topic:alarms');

  const exports = new Map<string, unknown>();
  for (const output of Object.values(deployed.stateful.Outputs ?? {})) {
    if (output.Export) exports.set(output.Export.Name, output.Value);
  }

  const name = (value: unknown): string => {
    if (typeof value === 'string') return value;
    if (typeof value !== 'object' || value === null) return JSON.stringify(value);
    const [[fn, arg]] = Object.entries(value) as [[string, unknown]];
    switch (fn) {
      case 'Ref': {
        const id = arg as string;
        return id.startsWith('AWS::') ? `{${id}}` : (labels.get(id) ?? `?${id}`);
      }
      case 'Fn::GetAtt': {
        const [id, attribute] = arg as [string, string];
        return `${labels.get(id) ?? `?${id}`}.${attribute}`;
      }
      case 'Fn::ImportValue': {
        const exported = exports.get(arg as string);
        return exported === undefined ? `?import:${String(arg)}` : name(exported);
      }
      case 'Fn::Join': {
        const [separator, parts] = arg as [string, unknown[]];
        return parts.map(name).join(separator);
      }
      default:
        return JSON.stringify(value);
    }
  };

  return {
    name,
    logicalId: (construct) => {
      const stack = [built.stateful, built.stateless].find((s) =>
        `${construct.node.path}/`.startsWith(`${s.node.path}/`),
      );
      if (!stack) throw new Error(`${construct.node.path} is in neither stack`);
      return logicalIdIn(stack, construct);
    },
  };
}

/** The resources of one type in a template, with their logical ids. */
export function resourcesOf(template: Template, type: string) {
  return Object.entries(template.Resources)
    .filter(([, resource]) => resource.Type === type)
    .map(([logicalId, resource]) => ({ logicalId, ...resource, Properties: resource.Properties ?? {} }));
}
