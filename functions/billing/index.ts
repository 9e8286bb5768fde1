/**
 * The billing domain: subscription statuses and transitions, KST billing calendars, the dunning
 * policy and deterministic charge-attempt OIDs. Pure TypeScript: no AWS SDK, HTTP or Payple client,
 * no clock (every function takes the instant it works at, epoch milliseconds).
 */
export * from './attempt.ts';
export * from './calendar.ts';
export * from './dunning.ts';
export * from './errors.ts';
export * from './events.ts';
export * from './kst.ts';
export * from './status.ts';
export * from './subscription.ts';
export * from './schema.ts';
export * from './payment.ts';
export * from './catalog.ts';
