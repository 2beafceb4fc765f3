export * from './model.ts';
export * from './store-port.ts';
export * from './log.ts';
