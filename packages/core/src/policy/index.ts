export * from './resolve.ts';
export * from './schema.ts';
