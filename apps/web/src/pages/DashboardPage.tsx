import { Dashboard } from './dashboard/Dashboard.tsx';

/** The landing page after sign-in (SPEC §15.3); the content lives in `pages/dashboard/`. */
export function DashboardPage() {
  return <Dashboard />;
}
