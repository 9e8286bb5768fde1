import { describe, expect, test } from 'vitest';
import { DEMO_PLANS } from '../../functions/billing/index.ts';
import {
  allowedRedirectUrlsFrom,
  plansFrom,
  publicBaseUrlFrom,
  redirectPolicyFrom,
} from '../../functions/checkout/config.ts';
import { ConfigurationError } from '../../functions/shared/environment.ts';

describe('the browser functions read their configuration once and refuse bad values by name', () => {
  test('PUBLIC_BASE_URL must be an https base URL (http only on localhost)', () => {
    expect(publicBaseUrlFrom({ PUBLIC_BASE_URL: 'https://pay.example.com' })).toBe('https://pay.example.com');
    expect(publicBaseUrlFrom({ PUBLIC_BASE_URL: 'http://127.0.0.1:3000' })).toBe('http://127.0.0.1:3000');
    for (const bad of [
      undefined,
      'http://pay.example.com',
      'https://pay.example.com/',
      'https://x.example?a=1',
    ]) {
      expect(() => publicBaseUrlFrom({ PUBLIC_BASE_URL: bad })).toThrow(/PUBLIC_BASE_URL/);
    }
  });

  test('ALLOWED_REDIRECT_URLS is a JSON array of https URLs; the result pages are always allowed', () => {
    const env = { ALLOWED_REDIRECT_URLS: '["https://shop.example.com/thanks"]' };
    const policy = redirectPolicyFrom(env, 'https://pay.example.com');

    expect([...policy.allowed]).toEqual([
      'https://pay.example.com/subscribe/result?status=success',
      'https://pay.example.com/subscribe/result?status=failure',
      'https://shop.example.com/thanks',
    ]);
    expect(allowedRedirectUrlsFrom({})).toEqual([]);
    expect(() => allowedRedirectUrlsFrom({ ALLOWED_REDIRECT_URLS: 'https://a.example' })).toThrow(
      ConfigurationError,
    );
    expect(() => allowedRedirectUrlsFrom({ ALLOWED_REDIRECT_URLS: '["http://shop.example.com/"]' })).toThrow(
      /ALLOWED_REDIRECT_URLS\[0\]/,
    );
    expect(() =>
      allowedRedirectUrlsFrom({ ALLOWED_REDIRECT_URLS: '["https://u:p@shop.example.com/"]' }),
    ).toThrow(ConfigurationError);
  });

  test('PLANS is the catalog as JSON, validated like cdk synth validates it', () => {
    expect(plansFrom({ PLANS: JSON.stringify(DEMO_PLANS) })).toEqual(DEMO_PLANS);
    expect(() => plansFrom({})).toThrow(/PLANS/);
    expect(() => plansFrom({ PLANS: '[{"id":"x"}]' })).toThrow(/plans\.0\.goodsName/);
  });
});
