/** Test kit: real services on loopback and small black-box helpers. */
export * from './postgres.ts';
export * from './http-client.ts';
export * from './totp.ts';
export * from './streams.ts';
export * from './fault-proxy.ts';
export * from './memory-backend.ts';
export * from './tree.ts';
export * from './sql-clients.ts';
