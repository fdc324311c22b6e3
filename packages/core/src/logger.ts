import { type Logger, type LoggerOptions, pino } from 'pino';

export type { Logger } from 'pino';

export interface CreateLoggerOptions {
  level?: string;
  /** Service name put on every line as `service`. */
  name: string;
  /** Where lines go; pino's default is stdout. Tests pass a stream to read what was logged. */
  destination?: NodeJS.WritableStream;
}

/**
 * The root logger of one process. Components take child loggers (`{ component: 'sink' }`, then
 * `{ topic, partition, offset }` per unit of work). Messages are fixed strings; data goes in fields.
 */
export function createLogger({ level = 'info', name, destination }: CreateLoggerOptions): Logger {
  const options: LoggerOptions = {
    level,
    base: { service: name },
    redact: {
      paths: [
        'password',
        '*.password',
        'apiKey',
        '*.apiKey',
        'authorization',
        '*.authorization',
        'headers.authorization',
      ],
      censor: '[redacted]',
    },
    timestamp: pino.stdTimeFunctions.isoTime,
  };
  return destination ? pino(options, destination) : pino(options);
}

/** A logger that writes nothing, for library defaults (the SDK must not print unless asked to). */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
