/**
 * The API's errors: every response error has a stable `code` (documented in ../README.md), an HTTP
 * status, a message, and for bad input the `parameter` and the `reason`. Bodies look like
 * `{ "error": { "code": "TG_BAD_PARAMETER", "message": "…", "parameter": "group_by", "reason": "…" } }`.
 */
import { isRetriable, TollgateError } from '@tollgate/core';
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';

export const API_ERRORS = {
  TG_AUTH_MISSING: { status: 401, description: 'no API key (Authorization: Bearer <key> or x-api-key)' },
  TG_AUTH_INVALID: { status: 401, description: 'the API key is not known' },
  TG_FORBIDDEN: { status: 403, description: "the key's role may not call this route" },
  TG_BAD_PARAMETER: {
    status: 400,
    description: 'a parameter is missing or invalid; names the parameter and the reason',
  },
  TG_RANGE_TOO_LARGE: { status: 400, description: 'the time range is larger than the grain allows' },
  TG_RUN_NOT_FOUND: { status: 404, description: "no such run in the key's org (another org's run included)" },
  TG_ROUTE_NOT_FOUND: { status: 404, description: 'no such route' },
  TG_UNAVAILABLE: { status: 503, description: 'ClickHouse is unreachable or overloaded; retry later' },
  TG_INTERNAL: { status: 500, description: 'an unexpected error; the log has the details' },
} as const;

export type ApiErrorCode = keyof typeof API_ERRORS;

export class ApiError extends TollgateError {
  readonly status: number;
  readonly parameter: string | undefined;
  readonly reason: string | undefined;

  constructor(code: ApiErrorCode, message: string, fields: { parameter?: string; reason?: string } = {}) {
    super(message, { code, retriable: code === 'TG_UNAVAILABLE', details: fields });
    this.name = 'ApiError';
    this.status = API_ERRORS[code].status;
    this.parameter = fields.parameter;
    this.reason = fields.reason;
  }
}

export function badParameter(parameter: string, reason: string): ApiError {
  return new ApiError('TG_BAD_PARAMETER', `${parameter}: ${reason}`, { parameter, reason });
}

export function errorBody(err: ApiError) {
  return {
    error: {
      code: err.code,
      message: err.message,
      ...(err.parameter === undefined ? {} : { parameter: err.parameter }),
      ...(err.reason === undefined ? {} : { reason: err.reason }),
    },
  };
}

/** Route schema validation failures name the parameter ajv complained about. */
function fromValidation(err: FastifyError): ApiError {
  const first = err.validation?.[0];
  const params = (first?.params ?? {}) as { missingProperty?: string; additionalProperty?: string };
  const path = (first?.instancePath ?? '').replace(/^\//, '').split('/')[0];
  const parameter = params.missingProperty ?? params.additionalProperty ?? (path || 'request');
  const reason = params.additionalProperty
    ? 'is not a known parameter'
    : params.missingProperty
      ? 'is required'
      : (first?.message ?? 'is invalid');
  return badParameter(parameter, reason);
}

export function toApiError(err: unknown): ApiError {
  if (err instanceof ApiError) return err;
  const fastifyError = err as FastifyError;
  if (fastifyError?.validation) return fromValidation(fastifyError);
  // fastify's own 4xx (malformed query string, unsupported media type, body too large)
  if (
    typeof fastifyError?.statusCode === 'number' &&
    fastifyError.statusCode >= 400 &&
    fastifyError.statusCode < 500
  )
    return badParameter('request', fastifyError.message);
  if (err instanceof TollgateError && isRetriable(err))
    return new ApiError('TG_UNAVAILABLE', 'the database is unavailable; retry later');
  return new ApiError('TG_INTERNAL', 'internal error');
}

export function errorHandler(err: unknown, request: FastifyRequest, reply: FastifyReply) {
  const apiError = toApiError(err);
  if (apiError.status >= 500) request.log.error({ err }, 'request failed');
  return reply.code(apiError.status).send(errorBody(apiError));
}
