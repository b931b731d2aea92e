/**
 * The task dependency graph: tasks with an upstream or a downstream task drawn left to right in
 * layers (SVG), edges upstream → downstream, each node coloured by the task's last status and
 * dimmed when the task is disabled. A click (or Enter) on a node opens the task.
 */
import { useMemo } from 'react';
import { Alert, Empty, Flex, Tag, Typography, theme } from 'antd';
import { useTranslation } from 'react-i18next';
import type { TaskSummary } from '@backupx/contract';
import { NODE_HEIGHT, NODE_WIDTH, fitText, layoutDependencyGraph, nodeStatus } from './dependencyGraph.ts';

type Status = TaskSummary['lastStatus'];

interface DependencyGraphProps {
  tasks: readonly TaskSummary[];
  onOpenTask: (id: number) => void;
}

export function DependencyGraph({ tasks, onOpenTask }: DependencyGraphProps) {
  const { t } = useTranslation();
  const { token } = theme.useToken();
  const layout = useMemo(() => layoutDependencyGraph(tasks), [tasks]);

  const colors: Record<Status, { stroke: string; fill: string; text: string }> = {
    success: { stroke: token.colorSuccess, fill: token.colorSuccessBg, text: token.colorSuccessText },
    failed: { stroke: token.colorError, fill: token.colorErrorBg, text: token.colorErrorText },
    running: { stroke: token.colorPrimary, fill: token.colorPrimaryBg, text: token.colorPrimaryText },
    idle: {
      stroke: token.colorTextQuaternary,
      fill: token.colorFillQuaternary,
      text: token.colorTextSecondary,
    },
  };
  const statusLabel = (status: Status) =>
    status === 'idle' ? t('depGraph.neverRun') : t(`records.status.${status}`);

  const legend = (
    <Flex gap={16} wrap align="center" data-testid="dep-graph-legend" style={{ fontSize: 12 }}>
      <Typography.Text type="secondary" style={{ fontSize: 12 }}>
        {t('depGraph.legendTitle')}
      </Typography.Text>
      {(['success', 'failed', 'running', 'idle'] as const).map((status) => (
        <Flex key={status} gap={6} align="center">
          <span
            style={{
              width: 14,
              height: 14,
              borderRadius: 4,
              border: `2px solid ${colors[status].stroke}`,
              background: colors[status].fill,
              display: 'inline-block',
            }}
          />
          <span>{statusLabel(status)}</span>
        </Flex>
      ))}
      <Flex gap={6} align="center">
        <span
          style={{
            width: 14,
            height: 14,
            borderRadius: 4,
            border: `2px dashed ${token.colorTextQuaternary}`,
            opacity: 0.5,
            display: 'inline-block',
          }}
        />
        <span>{t('depGraph.disabled')}</span>
      </Flex>
    </Flex>
  );

  const isolated =
    layout.isolated.length > 0 ? (
      <Flex gap={6} wrap align="center" style={{ marginTop: 16 }} data-testid="dep-graph-isolated">
        <Typography.Text type="secondary" style={{ fontSize: 13 }}>
          {t('depGraph.isolated', { count: layout.isolated.length })}
        </Typography.Text>
        {layout.isolated.map((task) => (
          <Tag
            key={task.id}
            style={{ marginInlineEnd: 0, cursor: 'pointer' }}
            onClick={() => onOpenTask(task.id)}
            data-testid={`dep-isolated-${String(task.id)}`}
          >
            {task.name}
          </Tag>
        ))}
      </Flex>
    ) : null;

  if (layout.nodes.length === 0) {
    return (
      <div data-testid="dep-graph" data-nodes={0}>
        <Empty
          image={Empty.PRESENTED_IMAGE_SIMPLE}
          description={
            <Flex vertical gap={4} align="center">
              <Typography.Text strong>{t('depGraph.empty')}</Typography.Text>
              <Typography.Text type="secondary" style={{ maxWidth: 520 }}>
                {t('depGraph.emptyHint')}
              </Typography.Text>
            </Flex>
          }
        />
        {isolated}
      </div>
    );
  }

  const markerId = 'dep-graph-arrow';

  return (
    <div data-testid="dep-graph" data-nodes={layout.nodes.length}>
      <Flex justify="space-between" align="center" gap={12} wrap style={{ marginBottom: 12 }}>
        <Typography.Text type="secondary" style={{ fontSize: 13 }}>
          {t('depGraph.description')}
        </Typography.Text>
        {legend}
      </Flex>
      {layout.hasCycle ? (
        <Alert type="warning" showIcon title={t('depGraph.cycle')} style={{ marginBottom: 12 }} />
      ) : null}
      <div
        style={{
          overflow: 'auto',
          borderRadius: token.borderRadiusLG,
          border: `1px solid ${token.colorBorderSecondary}`,
          background: `radial-gradient(${token.colorBorderSecondary} 1px, transparent 1px) 0 0 / 16px 16px, ${token.colorBgContainer}`,
          padding: 8,
        }}
      >
        <svg
          role="img"
          aria-label={t('depGraph.ariaLabel')}
          width={layout.width}
          height={layout.height}
          viewBox={`0 0 ${String(layout.width)} ${String(layout.height)}`}
          style={{ display: 'block', margin: '0 auto', fontFamily: token.fontFamily }}
        >
          <defs>
            <marker
              id={markerId}
              viewBox="0 0 10 10"
              refX="9"
              refY="5"
              markerWidth="7"
              markerHeight="7"
              orient="auto-start-reverse"
            >
              <path d="M 0 0 L 10 5 L 0 10 z" fill={token.colorTextTertiary} />
            </marker>
          </defs>
          {layout.edges.map((edge) => (
            <path
              key={`${String(edge.from)}-${String(edge.to)}`}
              d={edge.path}
              fill="none"
              stroke={edge.isBack ? token.colorWarning : token.colorTextTertiary}
              strokeWidth={1.6}
              strokeDasharray={edge.isBack ? '5 4' : undefined}
              markerEnd={`url(#${markerId})`}
              data-testid={`dep-edge-${String(edge.from)}-${String(edge.to)}`}
            />
          ))}
          {layout.nodes.map((node) => {
            const { task } = node;
            const color = colors[task.lastStatus];
            return (
              <g
                key={task.id}
                transform={`translate(${String(node.x)} ${String(node.y)})`}
                role="button"
                tabIndex={0}
                aria-label={`${task.name}: ${statusLabel(task.lastStatus)}`}
                onClick={() => onOpenTask(task.id)}
                onKeyDown={(event) => {
                  if (event.key === 'Enter' || event.key === ' ') {
                    event.preventDefault();
                    onOpenTask(task.id);
                  }
                }}
                style={{ cursor: 'pointer', opacity: task.enabled ? 1 : 0.45, outline: 'none' }}
                data-testid={`dep-node-${String(task.id)}`}
                data-status={nodeStatus(task)}
                data-enabled={task.enabled}
              >
                <title>{`${task.name} · ${statusLabel(task.lastStatus)}`}</title>
                <rect
                  width={NODE_WIDTH}
                  height={NODE_HEIGHT}
                  rx={10}
                  fill={token.colorBgContainer}
                  stroke={color.stroke}
                  strokeWidth={1.5}
                  strokeDasharray={task.enabled ? undefined : '5 4'}
                />
                <rect width={NODE_WIDTH} height={NODE_HEIGHT} rx={10} fill={color.fill} opacity={0.6} />
                <rect x={0} y={0} width={6} height={NODE_HEIGHT} rx={3} fill={color.stroke} />
                <circle cx={22} cy={21} r={5} fill={color.stroke}>
                  {task.lastStatus === 'running' ? (
                    <animate attributeName="opacity" values="1;0.3;1" dur="1.4s" repeatCount="indefinite" />
                  ) : null}
                </circle>
                <text
                  x={34}
                  y={25}
                  fontSize={13}
                  fontWeight={600}
                  fill={token.colorText}
                  style={{ pointerEvents: 'none' }}
                >
                  {fitText(task.name, NAME_UNITS)}
                </text>
                <text x={16} y={46} fontSize={11.5} fill={color.text} style={{ pointerEvents: 'none' }}>
                  {statusLabel(task.lastStatus)}
                  {task.enabled ? '' : ` · ${t('common.disabled')}`}
                </text>
              </g>
            );
          })}
        </svg>
      </div>
      {isolated}
    </div>
  );
}

/** Width of a node's name in {@link fitText} units (about 7 px each at 13 px). */
const NAME_UNITS = 23;
