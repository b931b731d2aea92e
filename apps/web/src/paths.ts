/** Route paths of the console; the sidebar menu uses them as item keys. */
export const paths = {
  login: '/login',
  dashboard: '/dashboard',
  users: '/admin/users',
  apiKeys: '/admin/api-keys',
  audit: '/audit',
  settings: '/settings',
} as const;
