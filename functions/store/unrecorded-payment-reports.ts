/**
 * Reported successes without a payment record, kept as one map item in the control table: the
 * webhook adds to it, the reconciler reads it whole (one GetItem a run, no scan) and removes what
 * was recorded since. Outstanding reports are rare (each is money an operator must look at), so the
 * item stays far below DynamoDB's 400 KB.
 */
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { GetCommand, PutCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { z } from 'zod';
import type { UnrecordedPaymentReport, UnrecordedPaymentReports } from '../use-cases/ports.ts';

const REPORTS_KEY = 'unrecorded-payments';

const storedReport = z.object({
  reportedAt: z.number().int().nonnegative(),
  amount: z.number().int().optional(),
  payType: z.enum(['card', 'transfer']).optional(),
});
const storedItem = z.object({ reports: z.record(z.string(), storedReport) });

const isConditionFailure = (error: unknown) => error instanceof ConditionalCheckFailedException;

export class DynamoUnrecordedPaymentReports implements UnrecordedPaymentReports {
  readonly #documents: DynamoDBDocumentClient;
  readonly #table: string;

  constructor(documents: DynamoDBDocumentClient, controlTable: string) {
    this.#documents = documents;
    this.#table = controlTable;
  }

  async record(report: UnrecordedPaymentReport): Promise<void> {
    const { oid, ...value } = report;
    // Two tries cover the one race: two first reports creating the item at once.
    for (let round = 0; round < 2; round++) {
      try {
        await this.#documents.send(
          new UpdateCommand({
            TableName: this.#table,
            Key: { pk: REPORTS_KEY },
            UpdateExpression: 'SET #reports.#oid = if_not_exists(#reports.#oid, :report)',
            ConditionExpression: 'attribute_exists(#reports)',
            ExpressionAttributeNames: { '#reports': 'reports', '#oid': oid },
            ExpressionAttributeValues: { ':report': value },
          }),
        );
        return;
      } catch (error) {
        if (!isConditionFailure(error)) throw error;
      }
      try {
        await this.#documents.send(
          new PutCommand({
            TableName: this.#table,
            Item: { pk: REPORTS_KEY, reports: { [oid]: value } },
            ConditionExpression: 'attribute_not_exists(pk)',
          }),
        );
        return;
      } catch (error) {
        if (!isConditionFailure(error)) throw error;
      }
    }
    throw new Error(`could not record the unrecorded payment report for ${oid}`);
  }

  async list(): Promise<readonly UnrecordedPaymentReport[]> {
    const { Item } = await this.#documents.send(
      new GetCommand({ TableName: this.#table, Key: { pk: REPORTS_KEY }, ConsistentRead: true }),
    );
    if (Item === undefined) return [];
    const { reports } = storedItem.parse(Item);
    return Object.entries(reports)
      .map(([oid, report]) => ({ oid, ...report }))
      .sort((a, b) => a.reportedAt - b.reportedAt);
  }

  async remove(oid: string): Promise<void> {
    try {
      await this.#documents.send(
        new UpdateCommand({
          TableName: this.#table,
          Key: { pk: REPORTS_KEY },
          UpdateExpression: 'REMOVE #reports.#oid',
          ConditionExpression: 'attribute_exists(#reports)',
          ExpressionAttributeNames: { '#reports': 'reports', '#oid': oid },
        }),
      );
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
    }
  }
}
