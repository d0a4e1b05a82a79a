export * from './echo-protocol.js';
export * from './lab.js';
export * from './process.js';
