export * from './batcher.ts';
export * from './lag.ts';
export * from './metrics.ts';
export * from './rows.ts';
export * from './sink.ts';
export * from './tables.ts';
export * from './writer.ts';
