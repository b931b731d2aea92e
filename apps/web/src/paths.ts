/** Route paths of the console; the sidebar menu uses them as item keys. */
export const paths = {
  login: '/login',
  dashboard: '/dashboard',
  backupTasks: '/backup/tasks',
  taskTemplates: '/task-templates',
  backupRecords: '/backup/records',
  restoreRecords: '/restore/records',
  verifyRecords: '/verify/records',
  replicationRecords: '/replication/records',
  reports: '/reports',
  storageTargets: '/storage-targets',
  nodes: '/nodes',
  notifications: '/settings/notifications',
  users: '/admin/users',
  apiKeys: '/admin/api-keys',
  audit: '/audit',
  settings: '/settings',
} as const;
