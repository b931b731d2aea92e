/** Query keys of the dashboard; all start with `dashboard`. */
export const DASHBOARD_DAYS = 30;

export const dashboardKeys = {
  all: ['dashboard'] as const,
  stats: ['dashboard', 'stats'] as const,
  timeline: (days: number) => ['dashboard', 'timeline', days] as const,
  breakdown: (days: number) => ['dashboard', 'breakdown', days] as const,
};

/** Page of the backup records; `?recordId=` opens a record's details (SPEC §15.5). */
export const recordDetailsUrl = (id: number) => `/backup/records?recordId=${encodeURIComponent(String(id))}`;
export const TASKS_URL = '/backup/tasks';

/** `YYYY-MM-DD` → `MM-DD` for a compact axis label. */
export const shortDay = (date: string) => (/^\d{4}-\d{2}-\d{2}$/.test(date) ? date.slice(5) : date);
