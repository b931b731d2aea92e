/**
 * The 3-2-1 posture of one successful backup in its drawer: status, counts, what is missing,
 * and one row per stored copy with its newest drill and (operators) quick/deep drill actions.
 */
import type { HTMLAttributes } from 'react';
import { Button, Col, Flex, Row, Space, Table, Tag, Tooltip, Typography, theme } from 'antd';
import type { TableColumnsType } from 'antd';
import {
  CheckCircleFilled,
  CloseCircleFilled,
  ExperimentOutlined,
  MinusCircleOutlined,
  QuestionCircleOutlined,
  ThunderboltOutlined,
  WarningOutlined,
} from '@ant-design/icons';
import { Link } from 'react-router';
import { useTranslation } from 'react-i18next';
import type { Posture, VerifyMode } from '@backupx/contract';
import { formatDateTime } from '../../lib/format.ts';
import { StorageTypeIcon, useStorageTypeLabel } from '../storage/storageTypeLabels.tsx';
import { verificationDetailsUrl } from '../verification/verificationQueries.ts';
import { copyDrillState, postureColors, problemKey, sortProblems } from './posture.ts';
import type { CopyPosture, PostureStatus } from './posture.ts';

/** Tag of a posture status, green / gold / red. */
export function PostureTag({ status, testId }: { status: PostureStatus; testId?: string }) {
  const { t } = useTranslation();
  return (
    <Tooltip title={t(`posture.statusHelp.${status}`)}>
      <Tag
        color={postureColors[status]}
        data-testid={testId}
        data-status={status}
        style={{ marginInlineEnd: 0 }}
      >
        {t(`posture.status.${status}`)}
      </Tag>
    </Tooltip>
  );
}

interface PostureSectionProps {
  posture: Posture;
  canWrite: boolean;
  /** Starts a drill of one copy. */
  onDrill: (storageTargetId: number, mode: VerifyMode) => void;
  /** The copy and mode of a drill being started (its button spins). */
  pending: { storageTargetId: number | undefined; mode: VerifyMode } | null;
}

export function PostureSection({ posture, canWrite, onDrill, pending }: PostureSectionProps) {
  const { t } = useTranslation();
  const { token } = theme.useToken();
  const typeLabel = useStorageTypeLabel();
  const problems = sortProblems(posture.problems);
  const statusColor: Record<PostureStatus, string> = {
    protected: token.colorSuccess,
    unverified: token.colorWarning,
    degraded: token.colorError,
  };

  const counters = [
    { key: 'copies', label: t('posture.copies'), value: posture.copies, good: posture.copies >= 2 },
    {
      key: 'providers',
      label: t('posture.providers'),
      value: posture.distinctProviders,
      good: posture.distinctProviders >= 2,
    },
    {
      key: 'offsite',
      label: t('posture.offsite'),
      value: posture.offsiteCopies,
      good: posture.offsiteCopies >= 1,
    },
    {
      key: 'verified',
      label: t('posture.verified'),
      value: posture.verifiedCopies,
      good: posture.verifiedCopies >= 1,
    },
  ];

  const columns: TableColumnsType<CopyPosture> = [
    {
      title: t('posture.copyTable.target'),
      key: 'target',
      render: (_value, copy) => (
        <Typography.Text
          strong={copy.storageType !== ''}
          type={copy.storageType === '' ? 'secondary' : undefined}
        >
          {copy.storageTargetName || t('posture.deletedTarget', { id: copy.storageTargetId })}
        </Typography.Text>
      ),
    },
    {
      title: t('posture.copyTable.type'),
      key: 'type',
      render: (_value, copy) =>
        copy.storageType ? (
          <Tag icon={<StorageTypeIcon type={copy.storageType} />} style={{ marginInlineEnd: 0 }}>
            {typeLabel(copy.storageType)}
          </Tag>
        ) : (
          <Typography.Text type="secondary">{t('common.none')}</Typography.Text>
        ),
    },
    {
      title: t('posture.copyTable.offsite'),
      key: 'offsite',
      render: (_value, copy) =>
        copy.offsite ? (
          <Tag color="blue" style={{ marginInlineEnd: 0 }}>
            {t('posture.yes')}
          </Tag>
        ) : (
          <Tag style={{ marginInlineEnd: 0 }}>{t('posture.no')}</Tag>
        ),
    },
    {
      title: t('posture.copyTable.lastVerified'),
      key: 'verified',
      render: (_value, copy) => {
        const state = copyDrillState(copy);
        const icon =
          state === 'verified' ? (
            <CheckCircleFilled style={{ color: token.colorSuccess }} />
          ) : state === 'failed' ? (
            <CloseCircleFilled style={{ color: token.colorError }} />
          ) : (
            <MinusCircleOutlined style={{ color: token.colorTextTertiary }} />
          );
        const text =
          state === 'never'
            ? t('posture.neverVerified')
            : state === 'failed'
              ? t('posture.lastFailed')
              : formatDateTime(copy.lastVerifiedAt);
        return (
          <Space size={6} data-testid={`copy-verified-${String(copy.storageTargetId)}`} data-state={state}>
            {icon}
            {copy.lastVerificationId !== null ? (
              <Tooltip title={t('posture.openDrill')}>
                <Link to={verificationDetailsUrl(copy.lastVerificationId)} style={{ whiteSpace: 'nowrap' }}>
                  {text}
                </Link>
              </Tooltip>
            ) : (
              <Typography.Text
                type={state === 'never' ? 'secondary' : undefined}
                style={{ whiteSpace: 'nowrap' }}
              >
                {text}
              </Typography.Text>
            )}
          </Space>
        );
      },
    },
    ...(canWrite
      ? [
          {
            title: t('posture.copyTable.actions'),
            key: 'actions',
            render: (_value: unknown, copy: CopyPosture) => {
              const id = copy.storageTargetId;
              const busy = (mode: VerifyMode) => pending?.storageTargetId === id && pending.mode === mode;
              return (
                <Space.Compact size="small">
                  <Tooltip title={t('verification.quickDrillHelp')}>
                    <Button
                      size="small"
                      icon={<ThunderboltOutlined />}
                      loading={busy('quick')}
                      disabled={copy.storageType === '' || pending !== null}
                      onClick={() => onDrill(id, 'quick')}
                      data-testid={`copy-drill-quick-${String(id)}`}
                    >
                      {t('verification.quickDrill')}
                    </Button>
                  </Tooltip>
                  <Tooltip title={t('verification.deepDrillHelp')}>
                    <Button
                      size="small"
                      icon={<ExperimentOutlined />}
                      loading={busy('deep')}
                      disabled={copy.storageType === '' || pending !== null}
                      onClick={() => onDrill(id, 'deep')}
                      data-testid={`copy-drill-deep-${String(id)}`}
                    >
                      {t('verification.deepDrill')}
                    </Button>
                  </Tooltip>
                </Space.Compact>
              );
            },
          },
        ]
      : []),
  ];

  return (
    <div data-testid="record-posture" data-status={posture.status} style={{ marginBottom: 24 }}>
      <Flex justify="space-between" align="center" gap={8} wrap style={{ marginBottom: 12 }}>
        <Space size={8} align="center">
          <Typography.Title level={5} style={{ margin: 0 }}>
            {t('posture.title')}
          </Typography.Title>
          <Tooltip title={t('posture.help')}>
            <QuestionCircleOutlined style={{ color: token.colorTextTertiary }} />
          </Tooltip>
        </Space>
        <PostureTag status={posture.status} testId="record-posture-status" />
      </Flex>
      <div
        style={{
          padding: 16,
          borderRadius: token.borderRadiusLG,
          border: `1px solid ${token.colorBorderSecondary}`,
          borderInlineStart: `3px solid ${statusColor[posture.status]}`,
          marginBottom: 12,
        }}
      >
        <Row gutter={[16, 12]}>
          {counters.map((counter) => (
            <Col key={counter.key} xs={12} sm={6}>
              <div data-testid={`record-posture-count-${counter.key}`} data-value={counter.value}>
                <Typography.Text type="secondary" style={{ fontSize: 12 }}>
                  {counter.label}
                </Typography.Text>
                <div
                  style={{
                    fontSize: 22,
                    fontWeight: 600,
                    lineHeight: 1.3,
                    color: counter.good ? token.colorTextHeading : token.colorWarningText,
                  }}
                >
                  {counter.value}
                </div>
              </div>
            </Col>
          ))}
        </Row>
        {problems.length > 0 ? (
          <Flex gap={6} wrap align="center" style={{ marginTop: 12 }} data-testid="record-posture-problems">
            <Typography.Text type="secondary" style={{ fontSize: 12 }}>
              {t('posture.problemsTitle')}
            </Typography.Text>
            {problems.map((problem) => (
              <Tag
                key={problem}
                icon={<WarningOutlined />}
                color={problem === 'unverified' ? 'gold' : 'red'}
                style={{ marginInlineEnd: 0 }}
                data-testid={`record-posture-problem-${problem}`}
              >
                {t(problemKey(problem))}
              </Tag>
            ))}
          </Flex>
        ) : null}
      </div>
      {posture.copyDetails.length > 0 ? (
        <Table<CopyPosture>
          rowKey="storageTargetId"
          size="small"
          columns={columns}
          dataSource={posture.copyDetails}
          pagination={false}
          scroll={{ x: 'max-content' }}
          data-testid="record-posture-copies"
          onRow={(copy) =>
            ({ 'data-testid': `copy-row-${String(copy.storageTargetId)}` }) as HTMLAttributes<HTMLElement>
          }
        />
      ) : null}
    </div>
  );
}
