/**
 * Task export / import (SPEC §14.4): "Export" downloads the selected tasks (else all) as JSON,
 * "Import" sends such a file back and lists what became of each task.
 */
import { useRef, useState } from 'react';
import type { ChangeEvent, HTMLAttributes } from 'react';
import { Alert, App, Button, Flex, Modal, Table, Tag, Tooltip, Typography } from 'antd';
import type { TableColumnsType } from 'antd';
import { DownloadOutlined, UploadOutlined } from '@ant-design/icons';
import { useMutation, useQueryClient } from '@tanstack/react-query';
import { Link } from 'react-router';
import { useTranslation } from 'react-i18next';
import { apiRoutes } from '@backupx/contract';
import type { RouteBodyInput, RouteResponse } from '@backupx/contract';
import { apiCall, downloadFile } from '../../api/client.ts';
import { errorText } from '../../lib/i18n-helpers.ts';
import { taskDetailsUrl } from '../dashboard/dashboardQueries.ts';

/** Name of the export when the answer carries no `Content-Disposition` file name. */
export const TASK_EXPORT_FALLBACK_NAME = 'backupx-tasks.json';

type ImportBody = RouteBodyInput<typeof apiRoutes.tasks.importJson>;
type ImportResult = RouteResponse<typeof apiRoutes.tasks.importJson>[number];
export type ImportOutcome = 'created' | 'skipped' | 'failed';

/** What became of one imported task. */
export const importOutcome = (result: ImportResult): ImportOutcome =>
  result.skipped ? 'skipped' : result.success ? 'created' : 'failed';

/** Whether a failed entry is a database task that needs its password written into the file. */
export const needsPassword = (result: ImportResult): boolean =>
  !result.success && (result.error ?? '').includes('dbPassword is required');

const outcomeColors: Record<ImportOutcome, string> = {
  created: 'success',
  skipped: 'default',
  failed: 'error',
};

export function TaskTransferButtons({ selectedIds, canWrite }: { selectedIds: number[]; canWrite: boolean }) {
  const { t } = useTranslation();
  const { message } = App.useApp();
  const queryClient = useQueryClient();
  const fileInput = useRef<HTMLInputElement>(null);
  const [imported, setImported] = useState<{ fileName: string; results: ImportResult[] } | null>(null);

  const exportTasks = useMutation({
    mutationFn: (ids: number[]) =>
      downloadFile(
        apiRoutes.tasks.exportJson,
        { query: ids.length > 0 ? { ids: ids.join(',') } : {} },
        TASK_EXPORT_FALLBACK_NAME,
      ),
    onSuccess: (name) => void message.success(t('taskTransfer.exported', { name })),
    onError: (error) => void message.error(errorText(t, error)),
  });

  const importTasks = useMutation({
    mutationFn: async ({ file }: { file: File }) => {
      let body: unknown;
      try {
        body = JSON.parse(await file.text());
      } catch (error) {
        throw new SyntaxError(
          t('taskTransfer.importFailedRead', {
            name: file.name,
            error: error instanceof Error ? error.message : String(error),
          }),
        );
      }
      return apiCall(apiRoutes.tasks.importJson, { body: body as ImportBody, timeoutMs: 60_000 });
    },
    onSuccess: (results, { file }) => {
      setImported({ fileName: file.name, results });
      if (results.some((result) => importOutcome(result) === 'created'))
        void queryClient.invalidateQueries({ queryKey: ['tasks'] });
    },
    onError: (error) =>
      void message.error(error instanceof SyntaxError ? error.message : errorText(t, error)),
  });

  const onFile = (event: ChangeEvent<HTMLInputElement>) => {
    const file = event.target.files?.[0];
    // Let the same file be picked again.
    event.target.value = '';
    if (file) importTasks.mutate({ file });
  };

  return (
    <>
      <Tooltip title={t('taskTransfer.exportTooltip')}>
        <Button
          icon={<DownloadOutlined />}
          loading={exportTasks.isPending}
          onClick={() => exportTasks.mutate(selectedIds)}
          data-testid="tasks-export"
          data-selected={selectedIds.length}
        >
          {selectedIds.length > 0
            ? t('taskTransfer.exportSelected', { count: selectedIds.length })
            : t('taskTransfer.export')}
        </Button>
      </Tooltip>
      {canWrite ? (
        <Tooltip title={t('taskTransfer.importTooltip')}>
          <Button
            icon={<UploadOutlined />}
            loading={importTasks.isPending}
            onClick={() => fileInput.current?.click()}
            data-testid="tasks-import"
          >
            {t('taskTransfer.import')}
          </Button>
        </Tooltip>
      ) : null}
      <input
        ref={fileInput}
        type="file"
        accept="application/json,.json"
        style={{ display: 'none' }}
        onChange={onFile}
        data-testid="tasks-import-file"
      />
      {imported ? (
        <ImportResults
          fileName={imported.fileName}
          results={imported.results}
          onClose={() => setImported(null)}
        />
      ) : null}
    </>
  );
}

function ImportResults({
  fileName,
  results,
  onClose,
}: {
  fileName: string;
  results: ImportResult[];
  onClose: () => void;
}) {
  const { t } = useTranslation();
  const counts: Record<ImportOutcome, number> = { created: 0, skipped: 0, failed: 0 };
  for (const result of results) counts[importOutcome(result)] += 1;
  const passwordMissing = results.some(needsPassword);

  const columns: TableColumnsType<ImportResult & { index: number }> = [
    {
      title: t('taskTransfer.columns.name'),
      dataIndex: 'name',
      key: 'name',
      render: (name: string) => (
        <Typography.Text strong style={{ overflowWrap: 'anywhere' }}>
          {name}
        </Typography.Text>
      ),
    },
    {
      title: t('taskTransfer.columns.result'),
      key: 'result',
      render: (_value, result) => {
        const outcome = importOutcome(result);
        return (
          <Tag color={outcomeColors[outcome]} style={{ marginInlineEnd: 0 }} data-outcome={outcome}>
            {t(`taskTransfer.status.${outcome}`)}
          </Tag>
        );
      },
    },
    {
      title: t('taskTransfer.columns.taskId'),
      dataIndex: 'taskId',
      key: 'taskId',
      render: (taskId: number | undefined) =>
        taskId === undefined ? (
          <Typography.Text type="secondary">{t('common.none')}</Typography.Text>
        ) : (
          <Link to={taskDetailsUrl(taskId)} onClick={onClose}>
            #{taskId}
          </Link>
        ),
    },
    {
      title: t('taskTransfer.columns.message'),
      dataIndex: 'error',
      key: 'message',
      render: (error: string | undefined, result) =>
        error ? (
          <Typography.Text
            type={result.success ? 'secondary' : 'danger'}
            style={{ fontSize: 13, overflowWrap: 'anywhere' }}
          >
            {error}
          </Typography.Text>
        ) : (
          <Typography.Text type="secondary">{t('common.none')}</Typography.Text>
        ),
    },
  ];

  return (
    <Modal
      open
      width={860}
      title={t('taskTransfer.resultsTitle', { name: fileName })}
      onCancel={onClose}
      footer={
        <Button type="primary" onClick={onClose} data-testid="tasks-import-close">
          {t('common.close')}
        </Button>
      }
    >
      <Flex vertical gap={12} data-testid="tasks-import-results">
        <Alert
          type={counts.failed > 0 ? 'warning' : 'success'}
          showIcon
          title={t('taskTransfer.summary', counts)}
          data-testid="tasks-import-summary"
        />
        {passwordMissing ? (
          <Alert
            type="info"
            showIcon
            title={t('taskTransfer.passwordHint')}
            data-testid="tasks-import-password-hint"
          />
        ) : null}
        <Table<ImportResult & { index: number }>
          rowKey="index"
          size="small"
          columns={columns}
          dataSource={results.map((result, index) => ({ ...result, index }))}
          pagination={{ pageSize: 20, hideOnSinglePage: true, showSizeChanger: false }}
          scroll={{ x: 'max-content' }}
          onRow={(result) =>
            ({
              'data-testid': `tasks-import-result-${String(result.index)}`,
              'data-outcome': importOutcome(result),
            }) as HTMLAttributes<HTMLElement>
          }
        />
      </Flex>
    </Modal>
  );
}
