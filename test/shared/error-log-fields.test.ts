import { describe, expect, test } from 'vitest';
import { errorLogFields } from '../../functions/shared/observability.ts';
import { newSubscriptionId } from '../../functions/use-cases/checkout.ts';

describe('errorLogFields: an unexpected error as log fields without personal data or secrets', () => {
  test('masks e-mails, phone numbers and opaque tokens such as billing keys', () => {
    const billingKey = 'NS9qNTgzU2xRNHR2RmFBWWFBTW5DZz09';
    const error = new TypeError(
      `cannot read key ${billingKey} of hong@example.com (010-1234-5678, 01098765432), custKey abcdef0123456789abcdef0123`,
    );

    const fields = errorLogFields(error);

    expect(fields.name).toBe('TypeError');
    for (const secret of [
      billingKey,
      'hong@example.com',
      '010-1234-5678',
      '01098765432',
      'abcdef0123456789abcdef0123',
    ]) {
      expect(fields.message).not.toContain(secret);
    }
    expect(fields.message).toBe('cannot read key [token] of [email] ([phone], [phone]), custKey [token]');
  });

  test('keeps generated subscription ids and their OIDs, which the operator needs', () => {
    const subscriptionId = newSubscriptionId();
    const oid = `${subscriptionId}-20270301-2`;

    const fields = errorLogFields(new Error(`first payment OID ${oid} of ${subscriptionId} differs`));

    expect(fields.message).toBe(`first payment OID ${oid} of ${subscriptionId} differs`);
  });

  test('reads thrown non-errors and caps the length', () => {
    expect(errorLogFields('plain failure')).toEqual({ name: 'string', message: 'plain failure' });
    expect(errorLogFields(new Error('x'.repeat(2_000))).message).toHaveLength(500);
  });
});
