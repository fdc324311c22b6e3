/** JSON schema fragments shared by route definitions (they validate input and feed the OpenAPI document). */
import { DIMENSION_NAMES } from '../params.ts';

export const timeParam = (description: string) => ({
  type: 'string',
  maxLength: 40,
  description: `${description}; ISO 8601 date or date-time with a zone (UTC: Z)`,
});

export const formatParam = {
  type: 'string',
  enum: ['json', 'csv'],
  description: 'json (default) or csv; Accept: text/csv works too',
};

export const filterParam = (what: string) => ({
  type: 'array',
  maxItems: 100,
  items: { type: 'string', maxLength: 200 },
  description: `only these ${what} values (repeat the parameter for several; empty value = untagged)`,
});

export const dimensionFilters = Object.fromEntries(DIMENSION_NAMES.map((name) => [name, filterParam(name)]));

export const limitParam = (max: number, fallback: number) => ({
  type: 'integer',
  minimum: 1,
  maximum: max,
  description: `rows to return (default ${fallback}, at most ${max})`,
});

export const costsMap = {
  type: 'object',
  additionalProperties: { type: 'string' },
  description: 'currency → exact cost in nano-units (decimal string)',
};

export const errorResponse = {
  type: 'object',
  properties: {
    error: {
      type: 'object',
      properties: {
        code: { type: 'string' },
        message: { type: 'string' },
        parameter: { type: 'string' },
        reason: { type: 'string' },
      },
      required: ['code', 'message'],
    },
  },
};

export const errorResponses = {
  400: errorResponse,
  401: errorResponse,
  403: errorResponse,
  503: errorResponse,
};
