/**
 * One error base for the whole pipeline. Retries decide on `retriable` alone, never on message text.
 * `code` is stable and documented: operators grep logs and alert on it.
 */
export interface TollgateErrorOptions {
  code: string;
  retriable?: boolean;
  cause?: unknown;
  /** Structured context (field names, offsets): goes to logs, never into the message. */
  details?: Record<string, unknown>;
}

export class TollgateError extends Error {
  readonly code: string;
  readonly retriable: boolean;
  readonly details: Record<string, unknown> | undefined;

  constructor(message: string, options: TollgateErrorOptions) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'TollgateError';
    this.code = options.code;
    this.retriable = options.retriable ?? false;
    this.details = options.details;
  }
}

/** A caller passed a value that breaks a rule; names the field and the rule. Never retriable. */
export class ValidationError extends TollgateError {
  readonly field: string;
  readonly rule: string;

  constructor(field: string, rule: string, message?: string) {
    super(message ?? `${field}: ${rule}`, {
      code: 'TG_VALIDATION',
      retriable: false,
      details: { field, rule },
    });
    this.name = 'ValidationError';
    this.field = field;
    this.rule = rule;
  }
}

/** Configuration read from the environment or a file is wrong; the message names the variable. */
export class ConfigError extends TollgateError {
  constructor(message: string, details?: Record<string, unknown>) {
    super(message, { code: 'TG_CONFIG', retriable: false, details });
    this.name = 'ConfigError';
  }
}

export function isRetriable(err: unknown): boolean {
  return err instanceof TollgateError ? err.retriable : false;
}

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
