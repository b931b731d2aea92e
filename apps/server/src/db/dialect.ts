/** The two supported control-plane databases. */
export type DialectName = 'sqlite' | 'postgres';
