export * from './shard-holder.ts';
export * from './keeper-handler.ts';
export * from './keeper-server.ts';
export * from './config.ts';
