/** Entry points of the master used by the CLI. */
export { startMaster, type RunningMaster } from './main.ts';
export { resetPassword } from './reset-password.ts';
export { ConfigError } from './config/load.ts';
export { SecretsError } from './bootstrap/secrets.ts';
export { VERSION } from './version.ts';
