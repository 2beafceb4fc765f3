export * from './routes.ts';
export * from './error-code.ts';
export * from './wire.ts';
export * from './json.ts';
export * from './validate.ts';
export * from './decode.ts';
export * from './secret-path.ts';
export * from './shard-json.ts';
