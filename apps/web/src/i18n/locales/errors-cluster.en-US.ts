/**
 * English messages of the error codes added with the cluster (nodes, agents, install tokens).
 * Spread into the `errors` section of en-US.ts.
 */
export const clusterErrorsEnUS = {
  NODE_NOT_FOUND: 'This node does not exist (anymore).',
  NODE_DUPLICATE_NAME: 'Another node (or another name of the batch) already has this name.',
  NODE_NAME_TOO_LONG: 'A node name has at most 128 characters.',
  NODE_BATCH_EMPTY: 'Enter at least one name.',
  NODE_BATCH_TOO_MANY: 'A batch creates at most 50 nodes.',
  NODE_DELETE_LOCAL: 'The master’s own node cannot be deleted.',
  NODE_HAS_TASKS: 'Tasks are still bound to this node. Move them to another node or delete them first.',
  NODE_ROTATE_LOCAL: 'The master’s own node has no agent token to rotate.',
  NODE_OFFLINE: 'The node is offline: its agent has not sent a heartbeat recently.',
  NODE_POOL_EMPTY: 'No online node carries the label of this node pool.',
  NODE_FS_READ_ERROR: 'The node could not read this directory.',
  NODE_INVALID_TOKEN: 'The agent token is unknown or expired.',
  AGENT_COMMAND_NOT_FOUND: 'This agent command does not exist (anymore).',
  AGENT_COMMAND_FORBIDDEN: 'The command belongs to another node.',
  AGENT_COMMAND_TIMEOUT: 'The agent did not answer in time. It may be busy with a backup or unreachable.',
  AGENT_COMMAND_ENQUEUE_FAILED: 'The command could not be queued for the node.',
  BACKUP_TASK_FORBIDDEN: 'The task is not bound to this node.',
  BACKUP_RECORD_FORBIDDEN: 'The backup record belongs to another node.',
  BACKUP_STORAGE_TARGET_FORBIDDEN: 'The storage target is not one of the task.',
  BACKUP_RECORD_STATUS_INVALID: 'A record status must be running, success or failed.',
  BACKUP_RECORD_CROSS_NODE_LOCAL_DISK:
    'This backup is on the local disk of a remote node; the master cannot read it. Restore it on that node.',
  AGENT_STORAGE_TRANSFER_MODE_INVALID: 'The reported transfer mode does not match the storage target.',
  AGENT_ARTIFACT_INVALID: 'The agent reported an invalid backup file.',
  AGENT_ARTIFACT_INVALID_PATH: 'The agent reported an invalid storage path.',
  CONTENT_LENGTH_REQUIRED: 'The upload must announce its length.',
  RESTORE_RECORD_FORBIDDEN: 'The restore record belongs to another node.',
  INSTALL_TOKEN_RATE_LIMITED: 'At most 5 install commands per node and minute. Wait a moment and try again.',
  INSTALL_TOKEN_INVALID: 'The install command was already used or has expired. Generate a new one.',
  INSTALL_OPTIONS_INVALID: 'An install option is invalid (master URL, proxy or CA path).',
};
