/**
 * Configuration read once at cold start: a missing or malformed variable fails the function's
 * start with a message that names it, instead of a wrong default failing a payment later.
 */
export class ConfigurationError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigurationError';
  }
}

export type Environment = Readonly<Record<string, string | undefined>>;

export function requireEnv(env: Environment, name: string): string {
  const value = env[name];
  if (value === undefined || value.trim() === '') throw new ConfigurationError(`${name} is not set`);
  return value;
}

/** A whole number, `fallback` when unset. */
export function integerEnv(env: Environment, name: string, fallback: number, min = 0): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isSafeInteger(value) || value < min) {
    throw new ConfigurationError(`${name} must be a whole number ≥ ${min}, not "${raw}"`);
  }
  return value;
}

export function booleanEnv(env: Environment, name: string, fallback: boolean): boolean {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  if (raw === 'true') return true;
  if (raw === 'false') return false;
  throw new ConfigurationError(`${name} must be "true" or "false", not "${raw}"`);
}

/** Comma-separated whole numbers, e.g. `1,3,5,7`. */
export function integerListEnv(env: Environment, name: string, fallback: readonly number[]): number[] {
  const raw = env[name];
  if (raw === undefined) return [...fallback];
  if (raw.trim() === '') return [];
  return raw.split(',').map((part) => {
    const value = Number(part.trim());
    if (!Number.isSafeInteger(value))
      throw new ConfigurationError(`${name} must list whole numbers, not "${raw}"`);
    return value;
  });
}
