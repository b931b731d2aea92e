/** Node badges, tags and the shared nodes query used by the nodes, tasks, records and restores pages. */
import { useCallback, useEffect, useMemo, useState } from 'react';
import type { ReactNode } from 'react';
import { Badge, Tag, Tooltip, Typography } from 'antd';
import { CloudServerOutlined, ClusterOutlined, DesktopOutlined } from '@ant-design/icons';
import { useQuery } from '@tanstack/react-query';
import { useTranslation } from 'react-i18next';
import { apiRoutes } from '@backupx/contract';
import type { NodeSummary } from '@backupx/contract';
import { apiCall } from '../../api/client.ts';
import { nodeKeys, NODES_REFRESH_MS } from './nodeLogic.ts';

/** The nodes list (local first). `live` refetches it every 10 s while mounted. */
export function useNodes({ live = false, enabled = true }: { live?: boolean; enabled?: boolean } = {}) {
  return useQuery({
    queryKey: nodeKeys.list,
    queryFn: ({ signal }) => apiCall(apiRoutes.nodes.list, { signal }),
    refetchInterval: live ? NODES_REFRESH_MS : false,
    enabled,
  });
}

/**
 * The display name of the node a task, record or restore ran on: "Master" for 0 and the local
 * node, the node's name otherwise, `#id` for a node that no longer exists.
 */
export function useNodeName(): (nodeId: number) => string {
  const { t } = useTranslation();
  const nodes = useNodes();
  const byId = useMemo(() => new Map((nodes.data ?? []).map((node) => [node.id, node])), [nodes.data]);
  return useCallback(
    (nodeId: number) => {
      if (nodeId <= 0) return t('tasks.masterNode');
      const node = byId.get(nodeId);
      if (!node) return t('nodes.unknownNode', { id: nodeId });
      return node.isLocal ? t('tasks.masterNode') : node.name;
    },
    [byId, t],
  );
}

/** The current time, ticking every `intervalMs` (for countdowns and "seen 5 s ago"). */
export function useNow(intervalMs = 1000): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    const timer = window.setInterval(() => setNow(Date.now()), intervalMs);
    return () => window.clearInterval(timer);
  }, [intervalMs]);
  return now;
}

const healthBadge: Record<NodeSummary['health'], 'success' | 'warning' | 'default'> = {
  healthy: 'success',
  degraded: 'warning',
  offline: 'default',
};

/** healthy / degraded / offline, with the last error (or what the state means) in a tooltip. */
export function NodeHealthBadge({
  node,
  testId,
}: {
  node: Pick<NodeSummary, 'health' | 'lastError' | 'isLocal'>;
  testId?: string;
}) {
  const { t } = useTranslation();
  const error = node.lastError?.trim() ?? '';
  const tip =
    error !== ''
      ? t('nodes.health.lastError', { error })
      : node.isLocal
        ? t('nodes.health.localHelp')
        : t(`nodes.health.${node.health}Help`);
  return (
    <Tooltip title={<span className="bx-break">{tip}</span>}>
      <span data-testid={testId} data-health={node.health} style={{ whiteSpace: 'nowrap' }}>
        <Badge status={healthBadge[node.health]} text={t(`nodes.health.${node.health}`)} />
      </span>
    </Tooltip>
  );
}

/** Online / offline of a node in a select option or a tag list. */
export function NodeStatusDot({ status }: { status: NodeSummary['status'] }) {
  const { t } = useTranslation();
  return (
    <Badge
      status={status === 'online' ? 'success' : 'default'}
      text={
        <Typography.Text type="secondary" style={{ fontSize: 12 }}>
          {t(`nodes.status.${status}`)}
        </Typography.Text>
      }
    />
  );
}

/** The master's own node marker. */
export function LocalTag() {
  const { t } = useTranslation();
  return (
    <Tooltip title={t('nodes.localHelp')}>
      <Tag color="blue" icon={<DesktopOutlined />} style={{ marginInlineEnd: 0 }}>
        {t('nodes.local')}
      </Tag>
    </Tooltip>
  );
}

/** Where a record or restore ran, shown only for a remote node (nodeId > 0 and not the master). */
export function RecordNodeTag({ nodeId, testId }: { nodeId: number; testId?: string }) {
  const nodeName = useNodeName();
  const nodes = useNodes();
  if (nodeId <= 0) return null;
  const node = nodes.data?.find((item) => item.id === nodeId);
  if (node?.isLocal) return null;
  return (
    <Tag icon={<CloudServerOutlined />} style={{ marginInlineEnd: 0 }} data-testid={testId}>
      {nodeName(nodeId)}
    </Tag>
  );
}

/** Where a task runs: the master, a node (marked when offline) or a node pool. */
export function TaskRunsOn({
  task,
  full = false,
  testId,
}: {
  task: { nodeId: number; nodeName: string; nodePoolTag: string };
  /** Full-size text with the long master label (detail views); else a small secondary line. */
  full?: boolean;
  testId?: string;
}) {
  const { t } = useTranslation();
  const nodes = useNodes();
  const style = full ? { whiteSpace: 'nowrap' as const } : { fontSize: 12, whiteSpace: 'nowrap' as const };
  const master = full ? t('tasks.masterNode') : t('tasks.masterShort');
  const node = task.nodeId > 0 ? nodes.data?.find((item) => item.id === task.nodeId) : undefined;
  let content: ReactNode = master;
  if (task.nodeId > 0 && !node?.isLocal) {
    content = (
      <>
        <CloudServerOutlined /> {node?.name ?? (task.nodeName || t('nodes.unknownNode', { id: task.nodeId }))}
        {node?.status === 'offline' ? (
          <Tag style={{ marginInlineStart: 6, marginInlineEnd: 0, fontSize: 11, lineHeight: '16px' }}>
            {t('nodes.status.offline')}
          </Tag>
        ) : null}
      </>
    );
  } else if (task.nodeId === 0 && task.nodePoolTag.trim() !== '') {
    content = (
      <>
        <ClusterOutlined /> {t('tasks.poolShort', { tag: task.nodePoolTag })}
      </>
    );
  }
  return (
    <Typography.Text
      type={full ? undefined : 'secondary'}
      style={style}
      data-testid={testId}
      data-node-status={node?.status}
    >
      {content}
    </Typography.Text>
  );
}
