/**
 * POST /v1/traces: OTLP/HTTP with the JSON encoding (Content-Type: application/json), as OpenTelemetry
 * exporters send it with OTEL_EXPORTER_OTLP_PROTOCOL=http/json. Protobuf is refused with 415.
 *
 * Following the OTLP/HTTP specification, a request whose spans were partly rejected is still a 200
 * with `partialSuccess: { rejectedSpans, errorMessage }` (exporters must not retry it), and the
 * response carries Tollgate's own summary under `tollgate` (exporters ignore unknown fields). 400 is
 * for a body that is not an ExportTraceServiceRequest; 503 with Retry-After when Kafka is down (an
 * exporter retries then, and the spans' deterministic event ids make the retry harmless).
 */
import type { FastifyInstance } from 'fastify';
import { errorBodySchema, ingestError } from '../errors.ts';
import type { Intake, Rejection } from '../intake.ts';
import type { IngestMetrics } from '../metrics.ts';
import { checkEnvelope, mapExportRequest } from './request.ts';

export interface TracesRouteOptions {
  intake: Intake;
  metrics: IngestMetrics;
  maxSpansPerRequest: number;
}

/** How many rejections the OTLP errorMessage spells out; the `tollgate.rejected` list has them all. */
const MESSAGE_REJECTIONS = 5;

const bodySchema = {
  type: 'object',
  properties: {
    resourceSpans: { type: ['array', 'null'], items: { type: 'object' } },
  },
} as const;

const responseSchema = {
  type: 'object',
  properties: {
    partialSuccess: {
      type: 'object',
      properties: { rejectedSpans: { type: 'string' }, errorMessage: { type: 'string' } },
    },
    tollgate: {
      type: 'object',
      properties: {
        spans: { type: 'integer' },
        accepted: { type: 'integer' },
        ignored: { type: 'integer' },
        rejected: {
          type: 'array',
          items: {
            type: 'object',
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
    },
  },
} as const;

export async function tracesRoutes(app: FastifyInstance, options: TracesRouteOptions): Promise<void> {
  const { intake, metrics, maxSpansPerRequest } = options;

  app.addContentTypeParser('application/x-protobuf', (_request, _payload, done) => {
    done(
      ingestError(
        'TG_INGEST_UNSUPPORTED_MEDIA_TYPE',
        'OTLP/HTTP protobuf is not supported: export with the JSON encoding (OTEL_EXPORTER_OTLP_PROTOCOL=http/json, Content-Type: application/json)',
      ),
    );
  });

  app.post(
    '/v1/traces',
    {
      schema: {
        body: bodySchema,
        response: { 200: responseSchema, '4xx': errorBodySchema, '5xx': errorBodySchema },
      },
    },
    async (request, reply) => {
      const envelope = checkEnvelope(request.body);
      if (!envelope.ok) throw ingestError('TG_INGEST_INVALID_BODY', `${envelope.field} ${envelope.rule}`);
      if (envelope.spans > maxSpansPerRequest)
        throw ingestError(
          'TG_INGEST_TOO_MANY_EVENTS',
          `${envelope.spans} spans in one request; at most ${maxSpansPerRequest} are accepted (lower the exporter's max export batch size)`,
        );

      const mapped = mapExportRequest(request.body as Record<string, unknown>);
      const rejections: Rejection[] = mapped.rejected.map((r) => ({
        index: r.index,
        eventId: r.traceId !== null && r.spanId !== null ? `otlp-${r.traceId}-${r.spanId}` : null,
        reasonCode: 'invalid_span',
        field: r.field,
        rule: r.rule,
        key: r.runId === null ? null : Buffer.from(r.runId, 'utf8'),
        payload: r.payload,
      }));
      const outcome = await intake.submit('traces', mapped.accepted, rejections);
      const ignored = mapped.ignored.agent_span + mapped.ignored.no_usage + mapped.ignored.not_gen_ai;
      for (const [reason, count] of Object.entries(mapped.ignored)) {
        if (count > 0) metrics.ignoredSpans.inc({ reason }, count);
      }
      if (ignored > 0) metrics.events.inc({ route: 'traces', outcome: 'ignored' }, ignored);

      const response: Record<string, unknown> = {
        tollgate: {
          spans: mapped.spans,
          accepted: outcome.accepted,
          ignored,
          rejected: outcome.rejected.map((r) => ({
            index: r.index,
            event_id: r.eventId,
            field: r.field,
            rule: r.rule,
            reason_code: r.reasonCode,
          })),
        },
      };
      if (outcome.rejected.length > 0) {
        const shown = outcome.rejected
          .slice(0, MESSAGE_REJECTIONS)
          .map((r) => `span ${r.index}${r.eventId ? ` (${r.eventId})` : ''}: ${r.field}: ${r.rule}`);
        const more = outcome.rejected.length - shown.length;
        response.partialSuccess = {
          rejectedSpans: String(outcome.rejected.length),
          errorMessage: `${outcome.rejected.length} of ${mapped.spans} spans rejected (sent to the dead-letter topic): ${shown.join('; ')}${more > 0 ? `; and ${more} more` : ''}`,
        };
      }
      return reply.code(200).send(response);
    },
  );
}
