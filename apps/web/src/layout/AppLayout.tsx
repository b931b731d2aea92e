import { useEffect, useMemo, useState } from 'react';
import { Button, Drawer, Flex, Grid, Layout, Menu, Tooltip, theme } from 'antd';
import type { MenuProps } from 'antd';
import {
  ApiOutlined,
  AuditOutlined,
  BlockOutlined,
  ClusterOutlined,
  CopyOutlined,
  DashboardOutlined,
  ExperimentOutlined,
  FileProtectOutlined,
  HddOutlined,
  HistoryOutlined,
  RollbackOutlined,
  ScheduleOutlined,
  NotificationOutlined,
  MenuFoldOutlined,
  MenuUnfoldOutlined,
  SafetyCertificateOutlined,
  SettingOutlined,
  TeamOutlined,
} from '@ant-design/icons';
import { Outlet, useLocation, useNavigate } from 'react-router';
import { useTranslation } from 'react-i18next';
import { useQuery } from '@tanstack/react-query';
import { apiRoutes } from '@backupx/contract';
import { apiCall } from '../api/client.ts';
import { queryKeys } from '../api/queryClient.ts';
import { useCurrentUser } from '../auth/AuthProvider.tsx';
import { isAdmin } from '../auth/roles.ts';
import { Logo, LogoMark } from '../components/Logo.tsx';
import { paths } from '../paths.ts';
import { LanguageSwitch, ThemeSwitch } from './PreferenceSwitches.tsx';
import { UserMenu } from './UserMenu.tsx';
import { EventCenter } from '../events/EventCenter.tsx';
import { GlobalSearch } from './GlobalSearch.tsx';

const ACCESS_GROUP = 'access';
const SIDER_WIDTH = 256;

/** The item of the menu that matches a location (longest path prefix). */
function selectedKey(pathname: string): string {
  const candidates = Object.values(paths).filter(
    (path) => pathname === path || pathname.startsWith(`${path}/`),
  );
  return candidates.sort((a, b) => b.length - a.length)[0] ?? pathname;
}

/** Shell of every signed-in page: sidebar, header with preferences and user menu, content. */
export function AppLayout() {
  const { t } = useTranslation();
  const { token } = theme.useToken();
  const screens = Grid.useBreakpoint();
  const isDesktop = screens.lg ?? true;
  const navigate = useNavigate();
  const location = useLocation();
  const user = useCurrentUser();
  const [collapsed, setCollapsed] = useState(false);
  const [drawerOpen, setDrawerOpen] = useState(false);
  const current = selectedKey(location.pathname);
  const [openKeys, setOpenKeys] = useState<string[]>(() =>
    location.pathname.startsWith('/admin/') ? [ACCESS_GROUP] : [],
  );

  const settings = useQuery({
    queryKey: queryKeys.settings,
    queryFn: ({ signal }) => apiCall(apiRoutes.settings.get, { signal }),
  });
  const siteName = settings.data?.site_name.trim();
  useEffect(() => {
    document.title = siteName && siteName !== '' ? siteName : 'BackupX';
  }, [siteName]);

  const items = useMemo<MenuProps['items']>(() => {
    const list: NonNullable<MenuProps['items']> = [
      { key: paths.dashboard, icon: <DashboardOutlined />, label: t('nav.dashboard') },
    ];
    // SPEC order: the reports, then the runs of every kind, then the templates and the rest.
    list.push(
      { key: paths.reports, icon: <FileProtectOutlined />, label: t('reports.menu') },
      { key: paths.backupTasks, icon: <ScheduleOutlined />, label: t('tasks.menu') },
      { key: paths.backupRecords, icon: <HistoryOutlined />, label: t('records.menu') },
      { key: paths.restoreRecords, icon: <RollbackOutlined />, label: t('restores.menu') },
      { key: paths.verifyRecords, icon: <ExperimentOutlined />, label: t('verification.menu') },
      { key: paths.replicationRecords, icon: <CopyOutlined />, label: t('replication.menu') },
      { key: paths.taskTemplates, icon: <BlockOutlined />, label: t('templates.menu') },
      { key: paths.storageTargets, icon: <HddOutlined />, label: t('storage.menu') },
      { key: paths.nodes, icon: <ClusterOutlined />, label: t('nodes.menu') },
      { key: paths.notifications, icon: <NotificationOutlined />, label: t('notifications.menu') },
    );
    if (isAdmin(user.role)) {
      list.push({
        key: ACCESS_GROUP,
        icon: <SafetyCertificateOutlined />,
        label: t('nav.access'),
        children: [
          { key: paths.users, icon: <TeamOutlined />, label: t('nav.users') },
          { key: paths.apiKeys, icon: <ApiOutlined />, label: t('nav.apiKeys') },
        ],
      });
    }
    list.push(
      { key: paths.audit, icon: <AuditOutlined />, label: t('nav.audit') },
      { key: paths.settings, icon: <SettingOutlined />, label: t('nav.settings') },
    );
    return list;
  }, [t, user.role]);

  const onMenuClick: MenuProps['onClick'] = ({ key }) => {
    setDrawerOpen(false);
    if (key !== location.pathname) void navigate(key);
  };

  const menu = (inlineCollapsed: boolean) => (
    <Menu
      data-testid="sidebar"
      mode="inline"
      items={items}
      selectedKeys={[current]}
      onClick={onMenuClick}
      style={{ borderInlineEnd: 'none', padding: '4px 8px' }}
      {...(inlineCollapsed ? {} : { openKeys, onOpenChange: setOpenKeys })}
    />
  );

  const toggleLabel = (isDesktop ? collapsed : !drawerOpen) ? t('nav.expand') : t('nav.collapse');

  return (
    <Layout style={{ minHeight: '100vh' }}>
      {isDesktop ? (
        <Layout.Sider
          width={SIDER_WIDTH}
          collapsedWidth={72}
          collapsed={collapsed}
          trigger={null}
          theme="light"
          style={{
            position: 'sticky',
            top: 0,
            height: '100vh',
            overflow: 'auto',
            borderInlineEnd: `1px solid ${token.colorBorderSecondary}`,
          }}
        >
          <Logo collapsed={collapsed} />
          {menu(collapsed)}
        </Layout.Sider>
      ) : (
        <Drawer
          placement="left"
          open={drawerOpen}
          onClose={() => setDrawerOpen(false)}
          size={SIDER_WIDTH + 24}
          closable={false}
          styles={{ body: { padding: 0 } }}
        >
          <Logo />
          {menu(false)}
        </Drawer>
      )}
      <Layout>
        <Layout.Header
          style={{
            position: 'sticky',
            top: 0,
            zIndex: 10,
            display: 'flex',
            alignItems: 'center',
            justifyContent: 'space-between',
            gap: 12,
            paddingInline: isDesktop ? 24 : 12,
            background: token.colorBgContainer,
            borderBottom: `1px solid ${token.colorBorderSecondary}`,
          }}
        >
          <Flex align="center" gap={8}>
            <Tooltip title={toggleLabel}>
              <Button
                type="text"
                aria-label={toggleLabel}
                icon={(isDesktop ? collapsed : !drawerOpen) ? <MenuUnfoldOutlined /> : <MenuFoldOutlined />}
                onClick={() => (isDesktop ? setCollapsed(!collapsed) : setDrawerOpen(true))}
              />
            </Tooltip>
            {isDesktop ? null : <LogoMark size={28} />}
          </Flex>
          <Flex align="center" gap={4}>
            <GlobalSearch compact={!screens.md} />
            <LanguageSwitch />
            <ThemeSwitch />
            <EventCenter />
            <UserMenu compact={!screens.md} />
          </Flex>
        </Layout.Header>
        <Layout.Content style={{ padding: isDesktop ? 24 : 16 }}>
          <div style={{ maxWidth: 1400, margin: '0 auto' }}>
            <Outlet />
          </div>
        </Layout.Content>
      </Layout>
    </Layout>
  );
}
