/**
 * @backupx/agent — the `backupx agent` process. It arrives with the cluster issue; the package
 * exists now so the layering rule (never import the server) applies from the start.
 */
export const AGENT_PROTOCOL = 'backupx-agent-v1';
