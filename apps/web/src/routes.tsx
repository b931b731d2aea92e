import { Navigate, Route, Routes } from 'react-router';
import { RequireAuth, RequireRole } from './auth/guards.tsx';
import { AppLayout } from './layout/AppLayout.tsx';
import { LoginPage } from './pages/LoginPage.tsx';
import { DashboardPage } from './pages/DashboardPage.tsx';
import { UsersPage } from './pages/UsersPage.tsx';
import { ApiKeysPage } from './pages/ApiKeysPage.tsx';
import { AuditPage } from './pages/AuditPage.tsx';
import { SettingsPage } from './pages/SettingsPage.tsx';
import { paths } from './paths.ts';
import { StorageTargetsPage } from './pages/storage/StorageTargetsPage.tsx';
import { GoogleDriveCallbackPage } from './pages/storage/GoogleDriveCallbackPage.tsx';
import { GOOGLE_DRIVE_CALLBACK_PATH } from './pages/storage/storageQueries.ts';
import { NotificationsPage } from './pages/notifications/NotificationsPage.tsx';
import { EventCenterProvider } from './events/EventCenterProvider.tsx';
import { TasksPage } from './pages/tasks/TasksPage.tsx';
import { RecordsPage } from './pages/records/RecordsPage.tsx';
import { RestoresPage } from './pages/restores/RestoresPage.tsx';
import { NodesPage } from './pages/nodes/NodesPage.tsx';
import { NodeDetailPage } from './pages/nodes/NodeDetailPage.tsx';
import { ReportsPage } from './pages/reports/ReportsPage.tsx';
import { TemplatesPage } from './pages/templates/TemplatesPage.tsx';
import { VerificationPage } from './pages/verification/VerificationPage.tsx';
import { ReplicationPage } from './pages/replication/ReplicationPage.tsx';

export function AppRoutes() {
  return (
    <Routes>
      <Route path={paths.login} element={<LoginPage />} />
      <Route element={<RequireAuth />}>
        <Route
          element={
            <EventCenterProvider>
              <AppLayout />
            </EventCenterProvider>
          }
        >
          <Route index element={<Navigate to={paths.dashboard} replace />} />
          <Route path={paths.dashboard} element={<DashboardPage />} />
          <Route path={paths.backupTasks} element={<TasksPage />} />
          <Route path={paths.taskTemplates} element={<TemplatesPage />} />
          <Route path={paths.backupRecords} element={<RecordsPage />} />
          <Route path={paths.restoreRecords} element={<RestoresPage />} />
          <Route path={paths.verifyRecords} element={<VerificationPage />} />
          <Route path={paths.replicationRecords} element={<ReplicationPage />} />
          <Route path={paths.reports} element={<ReportsPage />} />
          <Route
            path={paths.users}
            element={
              <RequireRole role="admin">
                <UsersPage />
              </RequireRole>
            }
          />
          <Route
            path={paths.apiKeys}
            element={
              <RequireRole role="admin">
                <ApiKeysPage />
              </RequireRole>
            }
          />
          <Route path={paths.storageTargets} element={<StorageTargetsPage />} />
          <Route
            path={GOOGLE_DRIVE_CALLBACK_PATH}
            element={
              <RequireRole role="operator">
                <GoogleDriveCallbackPage />
              </RequireRole>
            }
          />
          <Route path={paths.nodes} element={<NodesPage />} />
          <Route path={`${paths.nodes}/:id`} element={<NodeDetailPage />} />
          <Route path={paths.notifications} element={<NotificationsPage />} />
          <Route path={paths.audit} element={<AuditPage />} />
          <Route path={paths.settings} element={<SettingsPage />} />
        </Route>
      </Route>
      <Route path="*" element={<Navigate to="/" replace />} />
    </Routes>
  );
}
