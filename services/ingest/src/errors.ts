/**
 * The ingest API's error codes. Each is stable (clients branch on it, operators alert on it) and
 * documented in the README; `retriable` tells a client whether sending the same request again can
 * succeed. Every error body has the same shape: `{ error: { code, message, retriable } }`.
 */
import { TollgateError } from '@tollgate/core';

export const INGEST_ERRORS = {
  TG_INGEST_UNAUTHORIZED: { status: 401, retriable: false },
  TG_INGEST_INVALID_JSON: { status: 400, retriable: false },
  TG_INGEST_INVALID_BODY: { status: 400, retriable: false },
  TG_INGEST_EMPTY_BATCH: { status: 400, retriable: false },
  TG_INGEST_BODY_TOO_LARGE: { status: 413, retriable: false },
  TG_INGEST_TOO_MANY_EVENTS: { status: 413, retriable: false },
  TG_INGEST_EVENT_TOO_LARGE: { status: 413, retriable: false },
  TG_INGEST_UNSUPPORTED_MEDIA_TYPE: { status: 415, retriable: false },
  TG_INGEST_UNSUPPORTED_ENCODING: { status: 415, retriable: false },
  TG_INGEST_NOT_FOUND: { status: 404, retriable: false },
  TG_INGEST_KAFKA_UNAVAILABLE: { status: 503, retriable: true },
  TG_INGEST_SHUTTING_DOWN: { status: 503, retriable: true },
  TG_INGEST_INTERNAL: { status: 500, retriable: true },
} as const;

export type IngestErrorCode = keyof typeof INGEST_ERRORS;

export interface ErrorBody {
  error: { code: IngestErrorCode; message: string; retriable: boolean };
}

/** A request-level failure: the whole request is answered with this code's status. */
export function ingestError(
  code: IngestErrorCode,
  message: string,
  options: { cause?: unknown; details?: Record<string, unknown> } = {},
): TollgateError {
  return new TollgateError(message, { code, retriable: INGEST_ERRORS[code].retriable, ...options });
}

export function isIngestErrorCode(code: string): code is IngestErrorCode {
  return Object.hasOwn(INGEST_ERRORS, code);
}

export function errorBody(code: IngestErrorCode, message: string): ErrorBody {
  return { error: { code, message, retriable: INGEST_ERRORS[code].retriable } };
}

/** Response schema of every error, for fastify's serializer. */
export const errorBodySchema = {
  type: 'object',
  required: ['error'],
  properties: {
    error: {
      type: 'object',
      required: ['code', 'message', 'retriable'],
      properties: {
        code: { type: 'string' },
        message: { type: 'string' },
        retriable: { type: 'boolean' },
      },
    },
  },
} as const;
