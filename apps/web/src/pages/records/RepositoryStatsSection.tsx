/**
 * Deduplication figures of a repository (CDC) backup in its drawer: how much data the run
 * covered, how much it actually uploaded and how much it found already stored (SPEC §3.14).
 */
import { Descriptions, Typography } from 'antd';
import type { DescriptionsProps } from 'antd';
import { useTranslation } from 'react-i18next';
import type { RepositoryStats } from '@backupx/contract';
import { formatBytes, percentOf } from '../../lib/format.ts';

export function RepositoryStatsSection({ stats }: { stats: RepositoryStats }) {
  const { t, i18n } = useTranslation();
  const count = (value: number) => value.toLocaleString(i18n.language);
  const items: DescriptionsProps['items'] = [
    {
      key: 'logical',
      label: t('records.dedup.logical'),
      children: <span data-testid="record-dedup-logical">{formatBytes(stats.logicalBytes)}</span>,
    },
    {
      key: 'uploaded',
      label: t('records.dedup.uploaded'),
      children: <span data-testid="record-dedup-uploaded">{formatBytes(stats.uploadedBytes)}</span>,
    },
    {
      key: 'reused',
      label: t('records.dedup.reused'),
      children: <span data-testid="record-dedup-reused">{formatBytes(stats.reusedBytes)}</span>,
    },
    {
      key: 'ratio',
      label: t('records.dedup.ratio'),
      children: (
        <span data-testid="record-dedup-ratio">
          {t('records.dedup.ratioValue', { percent: percentOf(stats.reusedBytes, stats.logicalBytes) })}
        </span>
      ),
    },
    {
      key: 'unique',
      label: t('records.dedup.uniqueChunks'),
      children: <span data-testid="record-dedup-unique-chunks">{count(stats.uniqueChunks)}</span>,
    },
    {
      key: 'new',
      label: t('records.dedup.newChunks'),
      children: <span data-testid="record-dedup-new-chunks">{count(stats.newChunks)}</span>,
    },
    {
      key: 'unchanged',
      label: t('records.dedup.unchangedFiles'),
      span: 2,
      children: <span data-testid="record-dedup-unchanged-files">{count(stats.unchangedFiles)}</span>,
    },
  ];
  return (
    <div data-testid="record-dedup" style={{ marginBottom: 24 }}>
      <Typography.Title level={5}>{t('records.dedup.title')}</Typography.Title>
      <Typography.Paragraph type="secondary" style={{ fontSize: 13 }}>
        {t('records.dedup.help')}
      </Typography.Paragraph>
      <Descriptions
        size="small"
        bordered
        column={{ xs: 1, sm: 2 }}
        items={items}
        styles={{ label: { width: 170, whiteSpace: 'nowrap' }, content: { minWidth: 145 } }}
      />
    </div>
  );
}
