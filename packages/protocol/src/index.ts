export * from './routes.ts';
export * from './error-code.ts';
export * from './wire.ts';
