/**
 * Checkout sessions on DynamoDB (`checkoutSessions` in lib/resources.ts). Every change is a
 * conditional write on the current status, so two requests for the same session can never both
 * move it; what the item holds is read back through a schema (the table is ours, but a session
 * decides what gets created, so a malformed item is an error, never a guess).
 */
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { GetCommand, PutCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { z } from 'zod';
import {
  CheckoutSessionExistsError,
  SESSION_RETENTION_MS,
  type BeginCompletionResult,
  type CheckoutSession,
  type CheckoutSessionStore,
} from '../use-cases/checkout.ts';

const sessionSchema = z.object({
  sessionId: z.string(),
  status: z.enum(['open', 'completing', 'completed', 'failed']),
  purpose: z.enum(['subscribe', 'replace_payment_method']),
  createdAt: z.number(),
  expiresAt: z.number(),
  plan: z.object({
    id: z.string(),
    goodsName: z.string(),
    amount: z.number().int(),
    interval: z.object({ unit: z.enum(['month', 'week', 'year']), count: z.number().int() }),
    firstPayment: z.enum(['registration_only', 'pay_now', 'pay_after_confirm']),
  }),
  payType: z.enum(['card', 'transfer']),
  work: z.enum(['AUTH', 'PAY', 'CERT']),
  subscriptionId: z.string(),
  firstPaymentOid: z.string().optional(),
  customer: z
    .object({
      id: z.string(),
      name: z.string(),
      phone: z.string().optional(),
      email: z.string().optional(),
    })
    .optional(),
  successUrl: z.string(),
  failureUrl: z.string(),
  finishedAt: z.number().optional(),
  outcome: z.string().optional(),
}) satisfies z.ZodType<CheckoutSession>;

export class MalformedCheckoutSessionError extends Error {
  constructor(fields: string) {
    super(`stored checkout session is malformed: ${fields}`);
    this.name = 'MalformedCheckoutSessionError';
  }
}

function sessionFromItem(item: Record<string, unknown>): CheckoutSession {
  const parsed = sessionSchema.safeParse(item);
  if (!parsed.success) {
    throw new MalformedCheckoutSessionError(parsed.error.issues.map((i) => i.path.join('.')).join(', '));
  }
  return parsed.data;
}

export class DynamoCheckoutSessionStore implements CheckoutSessionStore {
  readonly #documents: DynamoDBDocumentClient;
  readonly #table: string;

  constructor(documents: DynamoDBDocumentClient, table: string) {
    this.#documents = documents;
    this.#table = table;
  }

  async create(session: CheckoutSession): Promise<void> {
    try {
      await this.#documents.send(
        new PutCommand({
          TableName: this.#table,
          Item: {
            ...session,
            // DynamoDB deletes it some time after this; the session's own expiry is `expiresAt`.
            expiresAtEpochSeconds: Math.ceil((session.expiresAt + SESSION_RETENTION_MS) / 1000),
          },
          ConditionExpression: 'attribute_not_exists(sessionId)',
        }),
      );
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) throw new CheckoutSessionExistsError();
      throw error;
    }
  }

  async get(sessionId: string): Promise<CheckoutSession | undefined> {
    const { Item } = await this.#documents.send(
      new GetCommand({ TableName: this.#table, Key: { sessionId }, ConsistentRead: true }),
    );
    return Item ? sessionFromItem(Item) : undefined;
  }

  async beginCompletion(
    sessionId: string,
    acceptedExpiry: number,
    now: number,
  ): Promise<BeginCompletionResult> {
    try {
      const { Attributes } = await this.#documents.send(
        new UpdateCommand({
          TableName: this.#table,
          Key: { sessionId },
          UpdateExpression: 'SET #status = :completing, completionStartedAt = :now',
          ConditionExpression: '#status = :open AND expiresAt >= :acceptedExpiry',
          ExpressionAttributeNames: { '#status': 'status' },
          ExpressionAttributeValues: {
            ':completing': 'completing',
            ':open': 'open',
            ':now': now,
            ':acceptedExpiry': acceptedExpiry,
          },
          ReturnValues: 'ALL_NEW',
        }),
      );
      if (!Attributes) throw new MalformedCheckoutSessionError('(no attributes returned)');
      return { ok: true, session: sessionFromItem(Attributes) };
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
      return { ok: false, session: await this.get(sessionId) };
    }
  }

  async finish(
    sessionId: string,
    from: 'open' | 'completing',
    to: 'completed' | 'failed',
    outcome: string,
    now: number,
  ): Promise<boolean> {
    try {
      await this.#documents.send(
        new UpdateCommand({
          TableName: this.#table,
          Key: { sessionId },
          // The customer's data served the window and the new subscription; the session keeps none.
          UpdateExpression: 'SET #status = :to, finishedAt = :now, outcome = :outcome REMOVE customer',
          ConditionExpression: '#status = :from',
          ExpressionAttributeNames: { '#status': 'status' },
          ExpressionAttributeValues: { ':to': to, ':from': from, ':now': now, ':outcome': outcome },
        }),
      );
      return true;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return false;
      throw error;
    }
  }
}
