/**
 * English messages of the error codes added with operations at scale (templates, search, task
 * import, replication). Spread into the `errors` section of en-US.ts.
 */
export const operationsErrorsEnUS = {
  TASK_TEMPLATE_NOT_FOUND: 'This template does not exist (anymore).',
  TASK_TEMPLATE_NAME_EXISTS: 'Another template already has this name.',
  TASK_TEMPLATE_INVALID: 'The template or one of its rows is not valid.',
  SEARCH_QUERY_INVALID: 'A search has at most 200 characters.',
  TASK_IMPORT_INVALID: 'This file is not a task export (version v1 with 1 to 1000 tasks).',
  REPLICATION_SOURCE_INVALID: 'Only a successful backup can be replicated.',
  REPLICATION_DEST_INVALID: 'Choose another storage target than the ones that already hold this backup.',
  REPLICATION_DEST_DISABLED: 'The destination storage target is disabled.',
  REPLICATION_CROSS_NODE_LOCAL_DISK: 'The backup is on a node’s own disk; the master cannot copy it.',
  REPLICATION_RECORD_NOT_FOUND: 'This replication record does not exist (anymore).',
  VERIFY_MODE_INVALID: 'The drill mode must be quick or deep.',
  VERIFY_NO_SOURCE: 'This task has no successful backup to drill yet. Run it first.',
  VERIFY_SOURCE_INVALID: 'Only a successful backup can be drilled.',
  VERIFY_COPY_NOT_FOUND: 'The backup has no successful copy on this storage target.',
  VERIFY_CROSS_NODE_LOCAL_DISK: 'The backup is on a node’s own disk; the master cannot read it for a drill.',
  VERIFY_RECORD_NOT_FOUND: 'This verification drill does not exist (anymore).',
};
