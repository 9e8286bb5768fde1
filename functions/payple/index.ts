/** The Payple REST client: what the rest of the project imports. */
export {
  PaypleClient,
  defaultTimeouts,
  type PaypleClientConfig,
  type PaypleLogger,
  type PaypleTimeouts,
} from './client.ts';
export {
  bankIssuerRows,
  cardIssuerRows,
  classifyAnswer,
  classifyAuthAnswer,
  classifyFailure,
  operationCodeRows,
  parsePaypleMessage,
  paypleCodeRows,
  type Classification,
  type ClassificationContext,
  type CodeRow,
} from './classification.ts';
export {
  PaypleConfigurationError,
  PaypleConnectionError,
  PaypleError,
  PaypleHostNotAllowedError,
  PaypleHttpStatusError,
  PaypleInvalidAnswerError,
  PaypleInvalidRequestError,
  PaypleTimeoutError,
  PaypleTransportError,
} from './errors.ts';
export { isAllowedTarget, paypleHosts } from './hosts.ts';
export { amountLimits } from './inputs.ts';
export { REDACTED, isSensitiveField, redact, scrub } from './redaction.ts';
export {
  InMemoryLookupTokenCache,
  LOOKUP_TOKEN_MAX_AGE_MS,
  systemClock,
  type Clock,
  type LookupPurpose,
  type LookupToken,
  type LookupTokenCache,
} from './token-cache.ts';
export * from './types.ts';
export { kstDate, parseAmount, parseKstTime } from './values.ts';
