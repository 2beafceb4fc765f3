export * from './model.ts';
export * from './store-port.ts';
export * from './log.ts';
export * from './crypto/index.ts';
export * from './policy.ts';
export * from './secret-versioning.ts';
export * from './server-args.ts';
export * from './caller.ts';
