/**
 * Keeps Payple's secrets and customers' personal data out of logs and error messages: the partner
 * custKey and the tokens auth returns, AuthKeys, the refund key, billing keys (`PCD_PAYER_ID`), CERT
 * request keys, and the payer's name, phone and e-mail.
 */

export const REDACTED = '[REDACTED]';

/** Field names (compared lower-case) whose values are never shown. */
const SENSITIVE_FIELDS: ReadonlySet<string> = new Set(
  [
    'custKey',
    'cst_id',
    'AuthKey',
    'PCD_CST_ID',
    'PCD_CUST_KEY',
    'PCD_AUTH_KEY',
    'PCD_REFUND_KEY',
    'PCD_PAYER_ID',
    'PCD_PAY_REQKEY',
    'PCD_PAYER_NAME',
    'PCD_PAYER_HP',
    'PCD_PAYER_EMAIL',
    // The client's own names for the same values.
    'authKey',
    'refundKey',
    'billingKey',
    'requestKey',
    'payerName',
    'payerPhone',
    'payerEmail',
  ].map((name) => name.toLowerCase()),
);

/** Whether a field with this name carries a secret or personal data. */
export function isSensitiveField(name: string): boolean {
  return SENSITIVE_FIELDS.has(name.toLowerCase());
}

/**
 * A deep copy of `value` with every sensitive field's value replaced by `[REDACTED]`. Use it on
 * anything that could carry Payple fields before it reaches a log line.
 */
export function redact(value: unknown): unknown {
  return redactValue(value, new WeakSet());
}

function redactValue(value: unknown, seen: WeakSet<object>): unknown {
  if (value === null || typeof value !== 'object') return value;
  if (seen.has(value)) return '[Circular]';
  seen.add(value);
  if (Array.isArray(value)) return value.map((item) => redactValue(item, seen));
  return Object.fromEntries(
    Object.entries(value).map(([key, field]) => [
      key,
      isSensitiveField(key) ? REDACTED : redactValue(field, seen),
    ]),
  );
}

/**
 * `text` with every occurrence of the given secret values replaced by `[REDACTED]`: for free text
 * from Payple (`PCD_PAY_MSG`) that might echo a value we sent.
 */
export function scrub(text: string, secrets: Iterable<string | undefined>): string {
  let result = text;
  const values = [...secrets].filter(
    (secret): secret is string => secret !== undefined && secret.length >= 4,
  );
  // Longest first, so a secret that contains another is replaced whole.
  for (const secret of values.sort((a, b) => b.length - a.length)) {
    result = result.replaceAll(secret, REDACTED);
  }
  return result;
}
