/**
 * The contract clients see: every wire shape of the HTTP API and the `/ws` protocol, as TypeBox
 * schemas with their static types. Imports nothing of the server, so a client imports it as it is.
 */
export * from './errors';
export * from './fields';
export * from './models';
export * from './http';
export * from './frames';
export * from './legacy';
export * from './operations';
