import { useMemo, useState } from 'react';
import { Button, Card, Col, Empty, Flex, Input, Row, Segmented, Skeleton, Tooltip, Typography } from 'antd';
import { CloudUploadOutlined, PlusOutlined, ReloadOutlined, SearchOutlined } from '@ant-design/icons';
import { useQuery, useQueryClient } from '@tanstack/react-query';
import { useTranslation } from 'react-i18next';
import { apiRoutes } from '@backupx/contract';
import type { StorageTargetSummary } from '@backupx/contract';
import { apiCall } from '../../api/client.ts';
import { useCurrentUser } from '../../auth/AuthProvider.tsx';
import { canWrite } from '../../auth/roles.ts';
import { LoadError } from '../../components/LoadError.tsx';
import { PageHeader } from '../../components/PageHeader.tsx';
import { StorageTargetCard } from './StorageTargetCard.tsx';
import { StorageTargetDrawer } from './StorageTargetDrawer.tsx';
import { storageKeys } from './storageQueries.ts';
import { useStorageTypeLabel } from './storageTypeLabels.tsx';

type StatusFilter = 'all' | 'ok' | 'failed' | 'disabled';

/** Storage targets as cards: connection state, usage and quota, with create/edit/test/delete. */
export function StorageTargetsPage() {
  const { t } = useTranslation();
  const user = useCurrentUser();
  const writable = canWrite(user.role);
  const queryClient = useQueryClient();
  const typeLabel = useStorageTypeLabel();
  const [editing, setEditing] = useState<StorageTargetSummary | 'new' | null>(null);
  const [search, setSearch] = useState('');
  const [filter, setFilter] = useState<StatusFilter>('all');

  const targets = useQuery({
    queryKey: storageKeys.list,
    queryFn: ({ signal }) => apiCall(apiRoutes.storageTargets.list, { signal }),
  });
  const list = useMemo(() => targets.data ?? [], [targets.data]);
  const now = targets.dataUpdatedAt;

  const counts = useMemo(
    () => ({
      all: list.length,
      ok: list.filter((target) => target.lastTestStatus === 'success').length,
      failed: list.filter((target) => target.lastTestStatus === 'failed').length,
      disabled: list.filter((target) => !target.enabled).length,
    }),
    [list],
  );

  const visible = useMemo(() => {
    const needle = search.trim().toLowerCase();
    return list.filter((target) => {
      if (filter === 'ok' && target.lastTestStatus !== 'success') return false;
      if (filter === 'failed' && target.lastTestStatus !== 'failed') return false;
      if (filter === 'disabled' && target.enabled) return false;
      if (needle === '') return true;
      return [target.name, target.type, typeLabel(target.type), target.description].some((value) =>
        value.toLowerCase().includes(needle),
      );
    });
  }, [list, search, filter, typeLabel]);

  return (
    <>
      <PageHeader
        title={t('storage.title')}
        description={t('storage.description')}
        extra={
          <>
            <Tooltip title={t('common.refresh')}>
              <Button
                icon={<ReloadOutlined />}
                aria-label={t('common.refresh')}
                loading={targets.isFetching && !targets.isPending}
                onClick={() => void queryClient.invalidateQueries({ queryKey: storageKeys.all })}
                data-testid="storage-refresh"
              />
            </Tooltip>
            {writable ? (
              <Button
                type="primary"
                icon={<PlusOutlined />}
                onClick={() => setEditing('new')}
                data-testid="storage-create"
              >
                {t('storage.create')}
              </Button>
            ) : null}
          </>
        }
      />

      {targets.isError ? (
        <LoadError
          error={targets.error}
          onRetry={() => void targets.refetch()}
          style={{ marginBottom: 16 }}
        />
      ) : null}

      {list.length > 0 ? (
        <Flex gap={12} wrap justify="space-between" align="center" style={{ marginBottom: 16 }}>
          <Input
            allowClear
            prefix={<SearchOutlined />}
            placeholder={t('storage.searchPlaceholder')}
            value={search}
            onChange={(event) => setSearch(event.target.value)}
            style={{ width: 340, maxWidth: '100%' }}
            data-testid="storage-search"
          />
          <div style={{ maxWidth: '100%', overflowX: 'auto' }}>
            <Segmented<StatusFilter>
              value={filter}
              onChange={setFilter}
              options={[
                { value: 'all', label: `${t('common.all')} (${String(counts.all)})` },
                { value: 'ok', label: `${t('storage.statusOk')} (${String(counts.ok)})` },
                { value: 'failed', label: `${t('storage.statusFailed')} (${String(counts.failed)})` },
                { value: 'disabled', label: `${t('common.disabled')} (${String(counts.disabled)})` },
              ]}
              data-testid="storage-filter"
            />
          </div>
        </Flex>
      ) : null}

      {targets.isPending ? (
        <Row gutter={[16, 16]}>
          {[0, 1, 2].map((index) => (
            <Col key={index} xs={24} md={12} xl={8}>
              <Card>
                <Skeleton active avatar paragraph={{ rows: 3 }} />
              </Card>
            </Col>
          ))}
        </Row>
      ) : list.length === 0 && !targets.isError ? (
        <Card data-testid="storage-empty">
          <Empty
            image={
              <CloudUploadOutlined style={{ fontSize: 56, color: 'var(--ant-color-primary, #1668dc)' }} />
            }
            styles={{ image: { height: 64 } }}
            description={
              <Flex vertical gap={4} align="center">
                <Typography.Text strong>{t('storage.emptyTitle')}</Typography.Text>
                <Typography.Text type="secondary">
                  {writable ? t('storage.emptyDescription') : t('storage.emptyDescriptionViewer')}
                </Typography.Text>
              </Flex>
            }
          >
            {writable ? (
              <Button type="primary" icon={<PlusOutlined />} onClick={() => setEditing('new')}>
                {t('storage.create')}
              </Button>
            ) : null}
          </Empty>
        </Card>
      ) : visible.length === 0 && list.length > 0 ? (
        <Card>
          <Empty image={Empty.PRESENTED_IMAGE_SIMPLE} description={t('storage.noMatches')} />
        </Card>
      ) : (
        <Row gutter={[16, 16]} data-testid="storage-grid">
          {visible.map((target) => (
            <Col key={target.id} xs={24} md={12} xl={8}>
              <StorageTargetCard target={target} canWrite={writable} now={now} onEdit={setEditing} />
            </Col>
          ))}
        </Row>
      )}

      <StorageTargetDrawer
        editing={editing}
        onClose={() => setEditing(null)}
        onSaved={() => void queryClient.invalidateQueries({ queryKey: storageKeys.all })}
      />
    </>
  );
}
