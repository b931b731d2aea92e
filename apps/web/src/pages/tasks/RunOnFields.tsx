/**
 * "Run on" of the task form (SPEC §15.4 step 1, §5.4): the master, one node (offline ones are
 * marked), or a node pool given by a label (chosen among the labels nodes carry, or typed).
 * Rendered inside the task form; it reads and writes `runOn`, `nodeId` and `nodePoolTag`.
 */
import { useMemo } from 'react';
import { Alert, AutoComplete, Flex, Form, Radio, Select, Tag, Typography } from 'antd';
import { CloudServerOutlined, ClusterOutlined, DesktopOutlined } from '@ant-design/icons';
import { useTranslation } from 'react-i18next';
import type { NodeSummary } from '@backupx/contract';
import { LoadError } from '../../components/LoadError.tsx';
import { poolLabels, poolMembers } from '../nodes/nodeLogic.ts';
import { LocalTag, NodeStatusDot } from '../nodes/nodeUi.tsx';
import type { RunOn } from './taskForm.ts';

interface NodeOption {
  value: number;
  label: string;
  node: NodeSummary;
}

interface RunOnFieldsProps {
  nodes: readonly NodeSummary[] | undefined;
  loading: boolean;
  error: unknown;
  onRetry: () => void;
  /** After the place changes (discovered databases belong to the previous one). */
  onChange: () => void;
}

export function RunOnFields({ nodes, loading, error, onRetry, onChange }: RunOnFieldsProps) {
  const { t } = useTranslation();
  const form = Form.useFormInstance();
  const runOn = Form.useWatch('runOn', form) as RunOn | undefined;
  const nodeId = Form.useWatch('nodeId', form) as number | null | undefined;
  const poolTag = (Form.useWatch('nodePoolTag', form) as string | undefined) ?? '';
  const list = useMemo(() => nodes ?? [], [nodes]);

  // The local node is the master: it is offered only when a stored task already points at it.
  // Online nodes first: they are the ones a task can use now.
  const nodeOptions: NodeOption[] = list
    .filter((node) => !node.isLocal || node.id === nodeId)
    .sort(
      (a, b) => Number(b.status === 'online') - Number(a.status === 'online') || a.name.localeCompare(b.name),
    )
    .map((node) => ({ value: node.id, label: node.name, node }));
  const selected = list.find((node) => node.id === nodeId);
  const labels = useMemo(() => poolLabels(list), [list]);
  const members = poolTag.trim() === '' ? [] : poolMembers(list, poolTag);
  const onlineMembers = members.filter((node) => node.status === 'online');

  const help =
    runOn === 'node'
      ? t('tasks.form.runOnNodeHelp')
      : runOn === 'pool'
        ? t('tasks.form.runOnPoolHelp')
        : t('tasks.form.runOnMasterHelp');

  return (
    <>
      <Form.Item name="runOn" label={t('tasks.form.runOn')} extra={help}>
        <Radio.Group optionType="button" buttonStyle="solid" onChange={onChange}>
          <Radio.Button value="master">
            <span data-testid="task-run-on-master">
              <DesktopOutlined /> {t('tasks.form.runOnMaster')}
            </span>
          </Radio.Button>
          <Radio.Button value="node">
            <span data-testid="task-run-on-node">
              <CloudServerOutlined /> {t('tasks.form.runOnNode')}
            </span>
          </Radio.Button>
          <Radio.Button value="pool">
            <span data-testid="task-run-on-pool">
              <ClusterOutlined /> {t('tasks.form.runOnPool')}
            </span>
          </Radio.Button>
        </Radio.Group>
      </Form.Item>
      {runOn !== 'master' && error ? (
        <LoadError error={error} onRetry={onRetry} style={{ marginBottom: 16 }} />
      ) : null}
      {runOn === 'node' ? (
        <>
          <Form.Item
            name="nodeId"
            label={t('tasks.form.node')}
            rules={[{ required: true, message: t('tasks.form.nodeRequired') }]}
          >
            <Select<number, NodeOption>
              showSearch={{ optionFilterProp: 'label' }}
              loading={loading}
              options={nodeOptions}
              placeholder={t('tasks.form.nodePlaceholder')}
              onChange={onChange}
              data-testid="task-node"
              notFoundContent={
                loading ? null : <Typography.Text type="secondary">{t('tasks.form.noNodes')}</Typography.Text>
              }
              optionRender={(option) => {
                const node = option.data.node;
                return (
                  <Flex
                    justify="space-between"
                    align="center"
                    gap={8}
                    data-testid={`task-node-option-${String(node.id)}`}
                  >
                    <Flex vertical style={{ minWidth: 0 }}>
                      <Typography.Text ellipsis>{node.name}</Typography.Text>
                      {node.hostname ? (
                        <Typography.Text
                          type="secondary"
                          className="bx-mono"
                          ellipsis
                          style={{ fontSize: 12 }}
                        >
                          {node.hostname}
                        </Typography.Text>
                      ) : null}
                    </Flex>
                    {node.isLocal ? <LocalTag /> : <NodeStatusDot status={node.status} />}
                  </Flex>
                );
              }}
              labelRender={(option) => {
                const node = list.find((item) => item.id === option.value);
                if (!node) return option.label;
                return (
                  <Flex gap={8} align="center">
                    <span>{node.name}</span>
                    {node.status === 'offline' ? (
                      <Tag style={{ marginInlineEnd: 0 }}>{t('nodes.status.offline')}</Tag>
                    ) : null}
                  </Flex>
                );
              }}
            />
          </Form.Item>
          {selected && selected.status === 'offline' ? (
            <Alert
              type="warning"
              showIcon
              style={{ marginTop: -8, marginBottom: 16 }}
              title={t('tasks.form.nodeOffline', { name: selected.name })}
              data-testid="task-node-offline"
            />
          ) : null}
        </>
      ) : null}
      {runOn === 'pool' ? (
        <Form.Item
          name="nodePoolTag"
          label={t('tasks.form.pool')}
          extra={
            poolTag.trim() === ''
              ? t('tasks.form.poolHelp')
              : t('tasks.form.poolMembers', { count: members.length, online: onlineMembers.length })
          }
          validateStatus={poolTag.trim() !== '' && onlineMembers.length === 0 ? 'warning' : undefined}
          rules={[
            { required: true, whitespace: true, message: t('tasks.form.poolRequired') },
            { max: 64, message: t('tasks.form.poolTooLong') },
          ]}
        >
          <AutoComplete
            options={labels.map((label) => {
              const pool = poolMembers(list, label);
              return {
                value: label,
                label: (
                  <Flex justify="space-between" gap={8}>
                    <span>{label}</span>
                    <Typography.Text type="secondary" style={{ fontSize: 12 }}>
                      {t('tasks.form.poolOption', {
                        count: pool.length,
                        online: pool.filter((node) => node.status === 'online').length,
                      })}
                    </Typography.Text>
                  </Flex>
                ),
              };
            })}
            showSearch={{
              filterOption: (input, option) =>
                (option?.value ?? '').toLowerCase().includes(input.trim().toLowerCase()),
            }}
            placeholder={t('tasks.form.poolPlaceholder')}
            onChange={onChange}
            data-testid="task-pool"
          />
        </Form.Item>
      ) : null}
    </>
  );
}
