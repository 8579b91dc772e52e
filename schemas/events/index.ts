export * from './common.js';
export * from './sales.js';
export * from './orders.js';
export * from './returns.js';
export * from './tickets.js';
export * from './registry.js';
export * from './decode.js';
