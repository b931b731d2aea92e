/**
 * @backupx/engine — the backup/restore/verify pipeline shared by the master and every agent.
 * It arrives with the engine issue; the package exists now so the workspace layout and its
 * layering rule (contract + node:* only) are in force from the start.
 */
export const ENGINE_FORMAT_VERSION = 1;
