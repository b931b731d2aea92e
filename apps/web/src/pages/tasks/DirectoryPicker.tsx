/**
 * Modal that browses the master's file system (`GET /api/system/fs/list`): breadcrumbs, folders
 * first, "select this folder", and in file mode a click on a file picks it (SQLite databases).
 */
import { useState } from 'react';
import { Alert, Breadcrumb, Button, Empty, Flex, Input, Modal, Spin, Typography, theme } from 'antd';
import {
  ArrowUpOutlined,
  FileOutlined,
  FolderOpenOutlined,
  FolderOutlined,
  HomeOutlined,
  ReloadOutlined,
} from '@ant-design/icons';
import { useQuery } from '@tanstack/react-query';
import { useTranslation } from 'react-i18next';
import { apiRoutes } from '@backupx/contract';
import type { FsList } from '@backupx/contract';
import { apiCall } from '../../api/client.ts';
import { formatBytes } from '../../lib/format.ts';
import { LoadError } from '../../components/LoadError.tsx';
import './tasks.css';

/** Render it only while it is open: it reads `initialPath` when it mounts. */
interface DirectoryPickerProps {
  open: boolean;
  /** `directory`: pick the current folder; `file`: pick a file (folders still navigate). */
  mode: 'directory' | 'file';
  /** Where to start; the parent folder of a file. */
  initialPath?: string;
  onClose: () => void;
  onSelect: (path: string) => void;
}

/** `/a/b` → [['/', '/'], ['a', '/a'], ['b', '/a/b']]. */
function crumbs(path: string): { name: string; path: string }[] {
  const parts = path.split('/').filter((part) => part !== '');
  return parts.map((name, index) => ({ name, path: `/${parts.slice(0, index + 1).join('/')}` }));
}

const startFolder = (path: string | undefined, mode: 'directory' | 'file'): string => {
  const trimmed = path?.trim() ?? '';
  if (!trimmed.startsWith('/')) return '/';
  if (mode === 'file') return trimmed.slice(0, trimmed.lastIndexOf('/')) || '/';
  return trimmed;
};

export function DirectoryPicker({ open, mode, initialPath, onClose, onSelect }: DirectoryPickerProps) {
  const { t } = useTranslation();
  const { token } = theme.useToken();
  // Mounted when it opens (see callers), so the start folder is read once.
  const [path, setPath] = useState(() => startFolder(initialPath, mode));
  const [typed, setTyped] = useState(path);

  const listing = useQuery({
    queryKey: ['tasks', 'fs', path],
    queryFn: ({ signal }) => apiCall(apiRoutes.tasks.listDirectory, { query: { path }, signal }),
    enabled: open,
    staleTime: 5_000,
  });
  const data: FsList | undefined = listing.data;
  const current = data?.path ?? path;

  const go = (next: string) => {
    setPath(next);
    setTyped(next);
  };

  return (
    <Modal
      open={open}
      onCancel={onClose}
      title={mode === 'directory' ? t('tasks.picker.titleDirectory') : t('tasks.picker.titleFile')}
      width={640}
      destroyOnHidden
      footer={[
        <Button key="cancel" onClick={onClose}>
          {t('common.cancel')}
        </Button>,
        mode === 'directory' ? (
          <Button
            key="select"
            type="primary"
            icon={<FolderOpenOutlined />}
            disabled={!data}
            onClick={() => {
              onSelect(current);
              onClose();
            }}
            data-testid="picker-select-current"
          >
            {t('tasks.picker.selectCurrent')}
          </Button>
        ) : null,
      ]}
    >
      <div data-testid="directory-picker">
        <Flex gap={8} style={{ marginBottom: 12 }}>
          <Button
            icon={<ArrowUpOutlined />}
            aria-label={t('tasks.picker.up')}
            disabled={!data?.parent}
            onClick={() => data?.parent && go(data.parent)}
          />
          <Input
            value={typed}
            onChange={(event) => setTyped(event.target.value)}
            onPressEnter={() => go(typed.trim() === '' ? '/' : typed.trim())}
            placeholder="/"
            className="bx-mono"
            data-testid="picker-path"
          />
          <Button
            icon={<ReloadOutlined />}
            aria-label={t('common.refresh')}
            loading={listing.isFetching}
            onClick={() => void listing.refetch()}
          />
        </Flex>
        <Breadcrumb
          style={{ marginBottom: 12 }}
          items={[
            {
              key: '/',
              title: (
                <a onClick={() => go('/')} aria-label={t('tasks.picker.root')}>
                  <HomeOutlined />
                </a>
              ),
            },
            ...crumbs(current).map((crumb) => ({
              key: crumb.path,
              title: <a onClick={() => go(crumb.path)}>{crumb.name}</a>,
            })),
          ]}
        />
        {listing.isError ? (
          <LoadError
            error={listing.error}
            onRetry={() => (current === '/' ? void listing.refetch() : go('/'))}
            style={{ marginBottom: 12 }}
          />
        ) : null}
        {data?.truncated ? (
          <Alert type="info" showIcon title={t('tasks.picker.truncated')} style={{ marginBottom: 12 }} />
        ) : null}
        <div
          style={{
            height: 360,
            overflow: 'auto',
            border: `1px solid ${token.colorBorderSecondary}`,
            borderRadius: token.borderRadiusLG,
          }}
        >
          {listing.isPending ? (
            <Flex align="center" justify="center" style={{ height: '100%' }}>
              <Spin />
            </Flex>
          ) : (data?.entries.length ?? 0) === 0 ? (
            <Empty
              image={Empty.PRESENTED_IMAGE_SIMPLE}
              description={t('tasks.picker.empty')}
              style={{ marginTop: 48 }}
            />
          ) : (
            (data?.entries ?? []).map((entry) => {
              const selectable = entry.isDir || mode === 'file';
              return (
                <button
                  key={entry.path}
                  type="button"
                  className="bx-picker-entry"
                  data-testid={`picker-entry-${entry.name}`}
                  disabled={!selectable}
                  onClick={() => {
                    if (entry.isDir) go(entry.path);
                    else {
                      onSelect(entry.path);
                      onClose();
                    }
                  }}
                  style={{ borderBottom: `1px solid ${token.colorBorderSecondary}` }}
                >
                  {entry.isDir ? (
                    <FolderOutlined style={{ color: token.colorWarning }} />
                  ) : (
                    <FileOutlined style={{ color: token.colorTextTertiary }} />
                  )}
                  <Typography.Text ellipsis style={{ flex: 1, textAlign: 'start' }}>
                    {entry.name}
                  </Typography.Text>
                  {entry.isDir ? null : (
                    <Typography.Text type="secondary" style={{ fontSize: 12, whiteSpace: 'nowrap' }}>
                      {formatBytes(entry.size)}
                    </Typography.Text>
                  )}
                </button>
              );
            })
          )}
        </div>
        <Typography.Text type="secondary" style={{ display: 'block', marginTop: 8, fontSize: 12 }}>
          {mode === 'directory' ? t('tasks.picker.hintDirectory') : t('tasks.picker.hintFile')}
        </Typography.Text>
      </div>
    </Modal>
  );
}
