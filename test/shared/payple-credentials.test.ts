import { describe, expect, test } from 'vitest';
import { parsePaypleCredentials } from '../../functions/shared/payple.ts';

describe('the Payple credentials secret', () => {
  test('valid JSON gives the credentials', () => {
    expect(parsePaypleCredentials('payple', '{"cstId":"shop","custKey":"k3y","refundKey":"r"}')).toEqual({
      cstId: 'shop',
      custKey: 'k3y',
      refundKey: 'r',
    });
  });

  test.each([
    ['malformed JSON quoting the key', '{"cstId":"shop","custKey": abcd1234567890}'],
    ['an empty cstId', '{"cstId":"","custKey":"abcd1234567890"}'],
    ['not a string', undefined],
  ])('%s is refused with a message that names no value', (_name, raw) => {
    let message = '';
    try {
      parsePaypleCredentials('payple', raw);
    } catch (error) {
      message = (error as Error).message;
    }

    expect(message).toBe('secret payple must be JSON {cstId, custKey, refundKey?}');
    expect(message).not.toContain('abcd1234567890');
  });
});
