/**
 * The admin API over HTTP: `/__sandbox/...`, JSON in and out, for tests in other processes and for
 * people poking the local stack with curl. Every route maps to one SandboxAdmin method.
 */
import { z } from 'zod';
import { AdminError, type SandboxAdmin } from './admin.ts';
import type { FaultSpec } from './faults.ts';
import { jsonReply, parseJsonObject, type Reply } from './http.ts';

/** The route table, served at `GET /__sandbox` so the API explains itself. */
export const adminRoutes = [
  'GET    /__sandbox/ledger                       every charge attempt and refund',
  'GET    /__sandbox/ledger/{oid}                 one attempt (?cstId= for another partner)',
  'GET    /__sandbox/billing-keys                 every billing key',
  'POST   /__sandbox/billing-keys                 {card|account: name or number, payerName?, ...} -> {PCD_PAYER_ID, ...}',
  'POST   /__sandbox/billing-keys/{id}/terminate  end a key in "Payple admin" (sends a PUSERDEL webhook)',
  'PUT    /__sandbox/billing-keys/{id}/instrument {card|account: name or number}: another card behind the key',
  'GET    /__sandbox/faults                       active faults',
  'POST   /__sandbox/faults                       {kind, ...match, times?} -> {id, ...}',
  'DELETE /__sandbox/faults/{id}                  remove one fault',
  'DELETE /__sandbox/faults                       remove every fault',
  'GET    /__sandbox/lookups                      lookups counted in the current window (?cstId=)',
  'GET    /__sandbox/webhooks                     every webhook delivery',
  'POST   /__sandbox/webhooks/release             send delayed webhooks now',
  'POST   /__sandbox/webhooks/idle                answers once no webhook is pending or delayed',
  'PUT    /__sandbox/webhook-url                  {url: string|null}',
  'PUT    /__sandbox/settings                     {slowDelayMs}',
  'POST   /__sandbox/reset                        forget all state, keep settings',
] as const;

const webhookUrlSchema = z.strictObject({ url: z.url().nullable() });
const settingsSchema = z.strictObject({ slowDelayMs: z.number().int().nonnegative().max(600_000) });

function parse<T>(schema: z.ZodType<T>, body: string): T {
  const parsed = schema.safeParse(parseJsonObject(body));
  if (!parsed.success) throw new AdminError(400, z.prettifyError(parsed.error));
  return parsed.data;
}

function notFound(): never {
  throw new AdminError(404, 'no such admin route; GET /__sandbox lists them');
}

async function route(admin: SandboxAdmin, method: string, url: URL, body: string): Promise<Reply> {
  const parts = url.pathname.split('/').filter(Boolean).slice(1).map(decodeURIComponent);
  const [resource, id, action] = parts;
  const cstId = url.searchParams.get('cstId') ?? undefined;
  switch (`${method} ${resource ?? ''}`) {
    case 'GET ':
      return jsonReply({ routes: adminRoutes });
    case 'GET ledger': {
      if (id === undefined) return jsonReply(admin.ledger());
      return jsonReply(admin.ledgerEntry(id, cstId) ?? notFound());
    }
    case 'GET billing-keys':
      return jsonReply(admin.billingKeys());
    case 'POST billing-keys': {
      if (id === undefined) return jsonReply(admin.createBillingKey(parseJsonObject(body) ?? {}), 201);
      if (action === 'terminate') return jsonReply(admin.terminateBillingKey(id));
      return notFound();
    }
    case 'PUT billing-keys': {
      if (id !== undefined && action === 'instrument') {
        return jsonReply(admin.setBillingKeyInstrument(id, parseJsonObject(body) ?? {}));
      }
      return notFound();
    }
    case 'GET faults':
      return jsonReply(admin.faults());
    case 'POST faults':
      // Faults.add validates the spec itself (zod); the cast only gets it there.
      return jsonReply(admin.addFault(parseJsonObject(body) as FaultSpec), 201);
    case 'DELETE faults': {
      if (id === undefined) {
        admin.clearFaults();
        return jsonReply({ removed: 'all' });
      }
      return admin.removeFault(id) ? jsonReply({ removed: id }) : notFound();
    }
    case 'GET lookups':
      return jsonReply(admin.lookupUsage(cstId));
    case 'GET webhooks':
      return jsonReply(admin.webhooks());
    case 'POST webhooks': {
      if (id === 'release') {
        admin.releaseWebhooks();
        return jsonReply({ released: true });
      }
      if (id === 'idle') {
        await admin.webhooksIdle();
        return jsonReply({ idle: true });
      }
      return notFound();
    }
    case 'PUT webhook-url': {
      const { url: webhookUrl } = parse(webhookUrlSchema, body);
      admin.setWebhookUrl(webhookUrl ?? undefined);
      return jsonReply({ url: webhookUrl });
    }
    case 'PUT settings': {
      const { slowDelayMs } = parse(settingsSchema, body);
      admin.setSlowDelay(slowDelayMs);
      return jsonReply({ slowDelayMs });
    }
    case 'POST reset':
      admin.reset();
      return jsonReply({ reset: true });
    default:
      return notFound();
  }
}

/** Answers an admin request; errors become `{error}` with 400 or 404. */
export async function handleAdmin(
  admin: SandboxAdmin,
  method: string,
  url: URL,
  body: string,
): Promise<Reply> {
  try {
    return await route(admin, method, url, body);
  } catch (error) {
    if (error instanceof AdminError) return jsonReply({ error: error.message }, error.status);
    throw error;
  }
}
