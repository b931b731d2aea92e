/**
 * File list of a file backup (its manifest, SPEC §3.10) as a checkable tree; the checked paths
 * can be restored on their own.
 */
import { useMemo, useState } from 'react';
import { Alert, Button, Empty, Flex, Modal, Skeleton, Tree, Typography, theme } from 'antd';
import type { TreeDataNode } from 'antd';
import { FileOutlined, FolderOutlined, RollbackOutlined } from '@ant-design/icons';
import { useQuery } from '@tanstack/react-query';
import { useTranslation } from 'react-i18next';
import { apiRoutes, CONTENTS_ENTRY_CAP } from '@backupx/contract';
import type { RecordSummary } from '@backupx/contract';
import { apiCall } from '../../api/client.ts';
import { formatBytes } from '../../lib/format.ts';
import { LoadError } from '../../components/LoadError.tsx';
import { buildContentsTree, minimalSelection } from './contentsTree.ts';
import type { ContentsNode } from './contentsTree.ts';

interface ContentsModalProps {
  record: RecordSummary | null;
  canRestore: boolean;
  onClose: () => void;
  onRestoreSelected: (record: RecordSummary, paths: string[]) => void;
  onOpenRecord: (recordId: number) => void;
}

export function ContentsModal({
  record,
  canRestore,
  onClose,
  onRestoreSelected,
  onOpenRecord,
}: ContentsModalProps) {
  const { t } = useTranslation();
  const { token } = theme.useToken();
  const [checked, setChecked] = useState<string[]>([]);
  const [openedFor, setOpenedFor] = useState<number | null>(null);

  // A different record starts with nothing checked.
  if (record && record.id !== openedFor) {
    setOpenedFor(record.id);
    setChecked([]);
  }

  const contents = useQuery({
    queryKey: ['records', 'contents', record?.id],
    queryFn: ({ signal }) => apiCall(apiRoutes.records.contents, { params: { id: record?.id ?? 0 }, signal }),
    enabled: record !== null,
    staleTime: 60_000,
  });

  const treeData = useMemo<TreeDataNode[]>(() => {
    const toNode = (node: ContentsNode): TreeDataNode => ({
      key: node.key,
      title: (
        <span
          data-testid={`contents-node-${node.key}`}
          style={{ display: 'inline-flex', gap: 8, alignItems: 'baseline', maxWidth: '100%' }}
        >
          <Typography.Text ellipsis style={{ maxWidth: 380 }}>
            {node.name}
          </Typography.Text>
          <Typography.Text type="secondary" style={{ fontSize: 12, whiteSpace: 'nowrap' }}>
            {node.isDir
              ? t('records.contents.folderSummary', { count: node.fileCount, size: formatBytes(node.size) })
              : formatBytes(node.size)}
          </Typography.Text>
        </span>
      ),
      icon: node.isDir ? <FolderOutlined style={{ color: token.colorWarning }} /> : <FileOutlined />,
      isLeaf: !node.isDir,
      ...(node.children ? { children: node.children.map(toNode) } : {}),
    });
    return buildContentsTree(contents.data?.entries ?? []).map(toNode);
  }, [contents.data, t, token.colorWarning]);

  const selection = useMemo(() => minimalSelection(checked), [checked]);
  const data = contents.data;

  return (
    <Modal
      open={record !== null}
      onCancel={onClose}
      width={760}
      destroyOnHidden
      title={record ? t('records.contents.title', { file: record.fileName }) : ''}
      footer={
        <Flex justify="space-between" align="center" gap={8} wrap>
          <Typography.Text type="secondary" data-testid="contents-selection-count">
            {canRestore ? t('records.contents.selected', { count: selection.length }) : ''}
          </Typography.Text>
          <Flex gap={8}>
            <Button onClick={onClose}>{t('common.close')}</Button>
            {canRestore ? (
              <Button
                type="primary"
                icon={<RollbackOutlined />}
                disabled={selection.length === 0 || !record}
                onClick={() => record && onRestoreSelected(record, selection)}
                data-testid="contents-restore-selected"
              >
                {t('records.contents.restoreSelected')}
              </Button>
            ) : null}
          </Flex>
        </Flex>
      }
    >
      <div data-testid="contents-modal">
        {contents.isError ? (
          <LoadError error={contents.error} onRetry={() => void contents.refetch()} />
        ) : null}
        {contents.isPending && record ? <Skeleton active paragraph={{ rows: 8 }} /> : null}
        {data ? (
          <>
            <Flex vertical gap={8} style={{ marginBottom: 12 }}>
              <Typography.Text type="secondary" data-testid="contents-total">
                {t('records.contents.total', { count: data.total })}
              </Typography.Text>
              {data.truncated ? (
                <Alert
                  type="info"
                  showIcon
                  title={t('records.contents.truncated', {
                    shown: data.entries.length,
                    total: data.total,
                    cap: CONTENTS_ENTRY_CAP,
                  })}
                  data-testid="contents-truncated"
                />
              ) : null}
              {data.basedOnFull !== undefined ? (
                <Alert
                  type="info"
                  showIcon
                  data-testid="contents-based-on"
                  title={
                    <span>
                      {t('records.contents.basedOnFull', { id: data.basedOnFull })}{' '}
                      <a onClick={() => data.basedOnFull !== undefined && onOpenRecord(data.basedOnFull)}>
                        {t('records.contents.openFull')}
                      </a>
                    </span>
                  }
                />
              ) : null}
            </Flex>
            {treeData.length === 0 ? (
              <Empty image={Empty.PRESENTED_IMAGE_SIMPLE} description={t('records.contents.empty')} />
            ) : (
              <div
                style={{
                  border: `1px solid ${token.colorBorderSecondary}`,
                  borderRadius: token.borderRadiusLG,
                  padding: 8,
                }}
                data-testid="contents-tree"
              >
                <Tree
                  checkable={canRestore}
                  showIcon
                  blockNode
                  height={420}
                  treeData={treeData}
                  checkedKeys={checked}
                  onCheck={(keys) => setChecked((Array.isArray(keys) ? keys : keys.checked).map(String))}
                  selectable={false}
                />
              </div>
            )}
          </>
        ) : null}
      </div>
    </Modal>
  );
}
