export * from './codec.ts';
export * from './evolution.ts';
export * from './fingerprint.ts';
export * from './priced-encoder.ts';
export * from './reader.ts';
export * from './schemas.ts';
