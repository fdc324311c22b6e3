export * from './app.ts';
export * from './auth.ts';
export * from './errors.ts';
export * from './params.ts';
export * from './queries/allocation.ts';
export * from './queries/runs.ts';
export * from './queries/spend.ts';
export * from './tree.ts';
