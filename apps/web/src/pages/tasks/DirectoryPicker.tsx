/**
 * Browsing a file system: the master's (`GET /api/system/fs/list`) or a node's through its agent
 * (`GET /api/nodes/:id/fs/list`). {@link DirectoryBrowser} is the inline view (breadcrumbs,
 * folders first), {@link DirectoryPicker} the modal of the forms with "select this folder", where
 * in file mode a click on a file picks it (SQLite databases).
 */
import { useState } from 'react';
import type { ReactNode } from 'react';
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
import { nodeKeys, NODE_RPC_TIMEOUT_MS } from '../nodes/nodeLogic.ts';
import { formatBytes } from '../../lib/format.ts';
import { LoadError } from '../../components/LoadError.tsx';
import './tasks.css';

/**
 * Whose file system: `null` (or 0) is the master's own, a node id goes through that node (the
 * master reads its own directory for the local node, and asks the agent of a remote one).
 */
export type FsSource = number | null;

/** One directory of the master or a node; remote listings wait for the agent (no retries). */
export function useDirectoryListing(source: FsSource, path: string, enabled = true) {
  const nodeId = source ?? 0;
  return useQuery({
    queryKey: nodeId > 0 ? nodeKeys.fs(nodeId, path) : ['tasks', 'fs', path],
    queryFn: ({ signal }) =>
      nodeId > 0
        ? apiCall(apiRoutes.nodes.listDirectory, {
            params: { id: nodeId },
            query: { path },
            signal,
            timeoutMs: NODE_RPC_TIMEOUT_MS,
          })
        : apiCall(apiRoutes.tasks.listDirectory, { query: { path }, signal }),
    enabled,
    staleTime: 5_000,
    // An agent that did not answer in 15 s will not answer a second time sooner.
    retry: nodeId > 0 ? false : undefined,
  });
}

interface DirectoryBrowserProps {
  source: FsSource;
  /** `directory`: files are shown but not clickable; `file`: a click on a file picks it. */
  mode: 'directory' | 'file';
  /** The folder shown (controlled). */
  path: string;
  onNavigate: (path: string) => void;
  onPickFile?: (path: string) => void;
  /** Height of the entry list. */
  height?: number;
  enabled?: boolean;
  /** Under the list. */
  footer?: ReactNode;
}

/** Path bar, breadcrumbs and the entries of one folder (folders first). */
export function DirectoryBrowser({
  source,
  mode,
  path,
  onNavigate,
  onPickFile,
  height = 360,
  enabled = true,
  footer,
}: DirectoryBrowserProps) {
  const { t } = useTranslation();
  const { token } = theme.useToken();
  const [typed, setTyped] = useState(path);
  const [shownPath, setShownPath] = useState(path);
  // The path bar follows navigation from outside (breadcrumbs, a parent's state).
  if (shownPath !== path) {
    setShownPath(path);
    setTyped(path);
  }
  const listing = useDirectoryListing(source, path, enabled);
  const data: FsList | undefined = listing.data;
  const current = data?.path ?? path;

  return (
    <div data-testid="directory-browser">
      <Flex gap={8} style={{ marginBottom: 12 }}>
        <Button
          icon={<ArrowUpOutlined />}
          aria-label={t('tasks.picker.up')}
          disabled={!data?.parent}
          onClick={() => data?.parent && onNavigate(data.parent)}
        />
        <Input
          value={typed}
          onChange={(event) => setTyped(event.target.value)}
          onPressEnter={() => onNavigate(typed.trim() === '' ? '/' : typed.trim())}
          placeholder="/"
          className="bx-mono"
          data-testid="picker-path"
        />
        <Button
          icon={<ReloadOutlined />}
          aria-label={t('common.refresh')}
          loading={listing.isFetching}
          disabled={!enabled}
          onClick={() => void listing.refetch()}
        />
      </Flex>
      <Breadcrumb
        style={{ marginBottom: 12 }}
        items={[
          {
            key: '/',
            title: (
              <a onClick={() => onNavigate('/')} aria-label={t('tasks.picker.root')}>
                <HomeOutlined />
              </a>
            ),
          },
          ...crumbs(current).map((crumb) => ({
            key: crumb.path,
            title: <a onClick={() => onNavigate(crumb.path)}>{crumb.name}</a>,
          })),
        ]}
      />
      {listing.isError ? (
        <LoadError
          error={listing.error}
          onRetry={() => (current === '/' ? void listing.refetch() : onNavigate('/'))}
          style={{ marginBottom: 12 }}
        />
      ) : null}
      {data?.truncated ? (
        <Alert type="info" showIcon title={t('tasks.picker.truncated')} style={{ marginBottom: 12 }} />
      ) : null}
      <div
        style={{
          height,
          overflow: 'auto',
          border: `1px solid ${token.colorBorderSecondary}`,
          borderRadius: token.borderRadiusLG,
        }}
        data-testid="directory-entries"
      >
        {listing.isPending && enabled ? (
          <Flex align="center" justify="center" style={{ height: '100%' }}>
            <Spin />
          </Flex>
        ) : (data?.entries.length ?? 0) === 0 ? (
          <Empty
            image={Empty.PRESENTED_IMAGE_SIMPLE}
            description={listing.isError ? t('tasks.picker.unavailable') : t('tasks.picker.empty')}
            style={{ marginTop: Math.min(48, height / 4) }}
          />
        ) : (
          (data?.entries ?? []).map((entry) => {
            const selectable = entry.isDir || (mode === 'file' && onPickFile !== undefined);
            return (
              <button
                key={entry.path}
                type="button"
                className="bx-picker-entry"
                data-testid={`picker-entry-${entry.name}`}
                disabled={!selectable}
                onClick={() => {
                  if (entry.isDir) onNavigate(entry.path);
                  else onPickFile?.(entry.path);
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
      {footer}
    </div>
  );
}

/** Render it only while it is open: it reads `initialPath` when it mounts. */
interface DirectoryPickerProps {
  open: boolean;
  /** `directory`: pick the current folder; `file`: pick a file (folders still navigate). */
  mode: 'directory' | 'file';
  /** Where to start; the parent folder of a file. */
  initialPath?: string | undefined;
  /** Whose file system; the master's when absent. */
  source?: FsSource;
  /** Shown under the title, e.g. the node being browsed. */
  subtitle?: ReactNode;
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

export function DirectoryPicker({
  open,
  mode,
  initialPath,
  source = null,
  subtitle,
  onClose,
  onSelect,
}: DirectoryPickerProps) {
  const { t } = useTranslation();
  // Mounted when it opens (see callers), so the start folder is read once.
  const [path, setPath] = useState(() => startFolder(initialPath, mode));
  const listing = useDirectoryListing(source, path, open);
  const data = listing.data;
  const current = data?.path ?? path;

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
        {subtitle ? <div style={{ marginBottom: 12 }}>{subtitle}</div> : null}
        <DirectoryBrowser
          source={source}
          mode={mode}
          path={path}
          onNavigate={setPath}
          onPickFile={(file) => {
            onSelect(file);
            onClose();
          }}
          enabled={open}
          footer={
            <Typography.Text type="secondary" style={{ display: 'block', marginTop: 8, fontSize: 12 }}>
              {mode === 'directory' ? t('tasks.picker.hintDirectory') : t('tasks.picker.hintFile')}
            </Typography.Text>
          }
        />
      </div>
    </Modal>
  );
}
