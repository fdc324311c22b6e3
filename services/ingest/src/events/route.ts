/**
 * POST /v1/events: a JSON array (application/json) or NDJSON (application/x-ndjson) of usage events.
 *
 * Answers once Kafka acknowledged every accepted event and every dead letter:
 *   200 all accepted · 207 some accepted, some rejected · 422 none accepted (all rejected)
 * with `{ received, accepted, rejected: [{ index, event_id, field, rule, reason_code }] }`.
 * A rejected event is not retriable as it is: the caller fixes it (field + rule say how) and sends it
 * again; it is also on tollgate.dlq.v1 with the bytes that were sent. Request-level problems (not
 * JSON, too many events, Kafka down) answer with an error code instead and publish nothing.
 */
import type { FastifyInstance } from 'fastify';
import { errorBodySchema, ingestError } from '../errors.ts';
import type { Intake, Rejection } from '../intake.ts';
import type { EventNormalizer } from './normalize.ts';
import { usageEventInputSchema } from './schema.ts';
import { type Element, splitJsonArray, splitNdjson } from './split.ts';

export interface EventsRouteOptions {
  intake: Intake;
  normalize: EventNormalizer;
  maxEventsPerRequest: number;
  maxEventBytes: number;
}

export const JSON_TYPES = ['application/json'];
export const NDJSON_TYPES = [
  'application/x-ndjson',
  'application/ndjson',
  'application/jsonl',
  'application/x-jsonlines',
];

const resultSchema = {
  type: 'object',
  required: ['received', 'accepted', 'rejected'],
  properties: {
    received: { type: 'integer' },
    accepted: { type: 'integer' },
    rejected: {
      type: 'array',
      items: {
        type: 'object',
        required: ['index', 'event_id', 'field', 'rule', 'reason_code'],
        properties: {
          index: { type: 'integer' },
          event_id: { type: ['string', 'null'] },
          field: { type: 'string' },
          rule: { type: 'string' },
          reason_code: { type: 'string' },
        },
      },
    },
  },
} as const;

function stringField(value: unknown, name: string): string | null {
  if (typeof value !== 'object' || value === null) return null;
  const v = (value as Record<string, unknown>)[name];
  return typeof v === 'string' && v.length > 0 ? v : null;
}

function parseElement(element: Element): { ok: true; value: unknown } | { ok: false; message: string } {
  try {
    return { ok: true, value: JSON.parse(element.bytes.toString('utf8')) };
  } catch (err) {
    return { ok: false, message: (err as Error).message };
  }
}

export async function eventsRoutes(app: FastifyInstance, options: EventsRouteOptions): Promise<void> {
  const { intake, normalize, maxEventsPerRequest, maxEventBytes } = options;

  // The raw bytes are needed (dead letters carry what was sent), so bodies are not parsed by fastify.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser(
    [...JSON_TYPES, ...NDJSON_TYPES],
    { parseAs: 'buffer' },
    (_request, body, done) => {
      done(null, body);
    },
  );

  app.get('/v1/schemas/usage-event.json', async () => usageEventInputSchema);

  app.post(
    '/v1/events',
    {
      schema: {
        response: {
          200: resultSchema,
          207: resultSchema,
          422: resultSchema,
          '4xx': errorBodySchema,
          '5xx': errorBodySchema,
        },
      },
    },
    async (request, reply) => {
      const body = request.body as Buffer | undefined;
      if (body === undefined || body.length === 0)
        throw ingestError(
          'TG_INGEST_EMPTY_BATCH',
          'the body is empty; send a JSON array or NDJSON of events',
        );
      const ndjson = NDJSON_TYPES.some((type) =>
        request.headers['content-type']?.toLowerCase().startsWith(type),
      );
      const split = ndjson ? splitNdjson(body) : splitJsonArray(body);
      if (!split.ok)
        throw ingestError(
          split.problem === 'syntax' ? 'TG_INGEST_INVALID_JSON' : 'TG_INGEST_INVALID_BODY',
          split.reason,
        );
      const { elements } = split;
      if (elements.length === 0) throw ingestError('TG_INGEST_EMPTY_BATCH', 'the request holds no events');
      if (elements.length > maxEventsPerRequest)
        throw ingestError(
          'TG_INGEST_TOO_MANY_EVENTS',
          `${elements.length} events in one request; at most ${maxEventsPerRequest} are accepted, split the batch`,
        );

      const accepted: Parameters<Intake['submit']>[1] = [];
      const rejected: Rejection[] = [];
      for (const [index, element] of elements.entries()) {
        if (element.bytes.length > maxEventBytes)
          throw ingestError(
            'TG_INGEST_EVENT_TOO_LARGE',
            `event ${index} is ${element.bytes.length} bytes of JSON; at most ${maxEventBytes} are accepted per event`,
          );
        const parsed = parseElement(element);
        if (!parsed.ok) {
          // In an array, a syntax error means the body is broken; an NDJSON line stands alone.
          if (!ndjson)
            throw ingestError(
              'TG_INGEST_INVALID_JSON',
              `event ${index} is not valid JSON: ${parsed.message}`,
            );
          rejected.push({
            index,
            eventId: null,
            reasonCode: 'invalid_json',
            field: '(event)',
            rule: `must be valid JSON (line ${element.line}): ${parsed.message}`,
            key: null,
            payload: element.bytes,
          });
          continue;
        }
        const eventId = stringField(parsed.value, 'event_id');
        const runId = stringField(parsed.value, 'run_id');
        const result = normalize(parsed.value);
        if (result.ok) accepted.push({ index, event: result.event });
        else
          rejected.push({
            index,
            eventId,
            reasonCode: result.reasonCode,
            field: result.field,
            rule: result.rule,
            key: runId === null ? null : Buffer.from(runId, 'utf8'),
            payload: element.bytes,
          });
      }

      const outcome = await intake.submit('events', accepted, rejected);
      const status = outcome.rejected.length === 0 ? 200 : outcome.accepted > 0 ? 207 : 422;
      return reply.code(status).send({
        received: elements.length,
        accepted: outcome.accepted,
        rejected: outcome.rejected.map((r) => ({
          index: r.index,
          event_id: r.eventId,
          field: r.field,
          rule: r.rule,
          reason_code: r.reasonCode,
        })),
      });
    },
  );
}
