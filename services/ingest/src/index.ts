/** The ingest service as a library: end-to-end tests and embedders build the app the way main.ts does. */
export { type AppDeps, buildApp, type IngestLimits } from './app.ts';
export { type Authenticator, createAuthenticator, sha256Hex } from './auth.ts';
export { type IngestConfig, ingestConfigSchema } from './config.ts';
export { INGEST_ERRORS, type IngestErrorCode } from './errors.ts';
export { usageEventInputSchema } from './events/schema.ts';
export { createIntake, type Intake, type IntakeOptions } from './intake.ts';
export { createIngestMetrics, type IngestMetrics } from './metrics.ts';
export { type MappedRequest, mapExportRequest } from './otlp/request.ts';
export { createKafkaPublisher, type KafkaPublisherOptions, type Publisher } from './publisher.ts';
