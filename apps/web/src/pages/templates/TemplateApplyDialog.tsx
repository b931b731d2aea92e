/** Applies a template: one row per task to create (name and a few overrides), then each row's result. */
import { useState } from 'react';
import { Alert, App, Button, Flex, Input, Modal, Tag, Tooltip, Typography, theme } from 'antd';
import { CheckCircleOutlined, CloseCircleOutlined, DeleteOutlined, PlusOutlined } from '@ant-design/icons';
import { useMutation, useQueryClient } from '@tanstack/react-query';
import { Link } from 'react-router';
import { useTranslation } from 'react-i18next';
import { apiRoutes } from '@backupx/contract';
import type { TaskTemplateSummary } from '@backupx/contract';
import { apiCall } from '../../api/client.ts';
import { errorText } from '../../lib/i18n-helpers.ts';
import { taskDetailsUrl } from '../dashboard/dashboardQueries.ts';
import { APPLY_MAX_ROWS, applyRowsValid, applyVariables, emptyApplyRow } from './templateQueries.ts';
import type { ApplyRow } from './templateQueries.ts';

const FIELDS = ['name', 'sourcePath', 'dbHost', 'dbName'] as const;
const fieldLabels = {
  name: 'templates.applyDialog.taskName',
  sourcePath: 'templates.applyDialog.sourcePath',
  dbHost: 'templates.applyDialog.dbHost',
  dbName: 'templates.applyDialog.dbName',
} as const;
const GRID = 'minmax(0, 1.3fr) minmax(0, 1.3fr) minmax(0, 1fr) minmax(0, 1fr) 32px';

export function TemplateApplyDialog({
  template,
  onClose,
}: {
  template: TaskTemplateSummary;
  onClose: () => void;
}) {
  const { t } = useTranslation();
  const { message } = App.useApp();
  const { token } = theme.useToken();
  const queryClient = useQueryClient();
  const [rows, setRows] = useState<ApplyRow[]>([emptyApplyRow(0)]);
  const [nextKey, setNextKey] = useState(1);
  const [touched, setTouched] = useState(false);

  const apply = useMutation({
    mutationFn: (current: ApplyRow[]) =>
      apiCall(apiRoutes.templates.apply, {
        params: { id: template.id },
        body: { variables: applyVariables(current) },
      }),
    onSuccess: (results) => {
      if (results.some((result) => result.success))
        void queryClient.invalidateQueries({ queryKey: ['tasks'] });
    },
    onError: (error) => void message.error(errorText(t, error)),
  });
  const results = apply.data;

  const update = (key: number, field: (typeof FIELDS)[number], value: string) =>
    setRows((current) => current.map((row) => (row.key === key ? { ...row, [field]: value } : row)));
  const addRow = () => {
    setRows((current) => [...current, emptyApplyRow(nextKey)]);
    setNextKey((key) => key + 1);
  };
  const removeRow = (key: number) => setRows((current) => current.filter((row) => row.key !== key));
  const valid = applyRowsValid(rows);
  const submit = () => {
    setTouched(true);
    if (valid) apply.mutate(rows);
  };
  const again = () => {
    apply.reset();
    setTouched(false);
  };

  const created = results?.filter((result) => result.success).length ?? 0;

  return (
    <Modal
      open
      width={920}
      title={t('templates.applyDialog.title', { name: template.name })}
      onCancel={onClose}
      destroyOnHidden
      modalRender={(node) => <div data-testid="template-apply-dialog">{node}</div>}
      footer={
        results ? (
          <Flex justify="flex-end" gap={8}>
            <Button onClick={again} data-testid="template-apply-again">
              {t('templates.applyDialog.again')}
            </Button>
            <Button type="primary" onClick={onClose} data-testid="template-apply-close">
              {t('common.close')}
            </Button>
          </Flex>
        ) : (
          <Flex justify="flex-end" gap={8}>
            <Button onClick={onClose}>{t('common.cancel')}</Button>
            <Button
              type="primary"
              loading={apply.isPending}
              disabled={touched && !valid}
              onClick={submit}
              data-testid="template-apply-submit"
            >
              {t('templates.applyDialog.submit')}
            </Button>
          </Flex>
        )
      }
    >
      {results ? (
        <Flex vertical gap={12} data-testid="template-apply-results">
          <Alert
            type={created === results.length ? 'success' : created === 0 ? 'error' : 'warning'}
            showIcon
            title={t('templates.applyDialog.summary', { created, total: results.length })}
          />
          {results.map((result, index) => (
            <Flex
              key={`${result.name}-${String(index)}`}
              align="center"
              gap={12}
              style={{ paddingBlock: 4 }}
              data-testid={`template-apply-result-${String(index)}`}
              data-success={result.success}
              data-task-id={result.taskId}
            >
              {result.success ? (
                <CheckCircleOutlined style={{ color: token.colorSuccess, fontSize: 16 }} />
              ) : (
                <CloseCircleOutlined style={{ color: token.colorError, fontSize: 16 }} />
              )}
              <Typography.Text strong style={{ minWidth: 160, overflowWrap: 'anywhere' }}>
                {result.name}
              </Typography.Text>
              {result.success && result.taskId !== undefined ? (
                <Flex gap={8} align="center">
                  <Tag color="success" style={{ marginInlineEnd: 0 }}>
                    {t('templates.applyDialog.createdTask', { id: result.taskId })}
                  </Tag>
                  <Link to={taskDetailsUrl(result.taskId)} onClick={onClose}>
                    {t('templates.applyDialog.openTask')}
                  </Link>
                </Flex>
              ) : (
                <Flex gap={8} align="center" style={{ minWidth: 0 }}>
                  <Tag color="error" style={{ marginInlineEnd: 0 }}>
                    {t('templates.applyDialog.failed')}
                  </Tag>
                  <Typography.Text type="danger" style={{ overflowWrap: 'anywhere' }}>
                    {result.error ?? ''}
                  </Typography.Text>
                </Flex>
              )}
            </Flex>
          ))}
        </Flex>
      ) : (
        <Flex vertical gap={8}>
          <Typography.Text type="secondary">{t('templates.applyDialog.help')}</Typography.Text>
          <div style={{ display: 'grid', gridTemplateColumns: GRID, gap: 8, alignItems: 'center' }}>
            {FIELDS.map((field) => (
              <Typography.Text key={field} strong style={{ fontSize: 13 }}>
                {t(fieldLabels[field])}
                {field === 'name' ? <Typography.Text type="danger"> *</Typography.Text> : null}
              </Typography.Text>
            ))}
            <span />
            {rows.map((row, index) => (
              <ApplyRowInputs
                key={row.key}
                row={row}
                index={index}
                showError={touched}
                canRemove={rows.length > 1}
                onChange={update}
                onRemove={removeRow}
              />
            ))}
          </div>
          <Flex justify="space-between" align="center" gap={8} wrap>
            <Button
              type="dashed"
              icon={<PlusOutlined />}
              onClick={addRow}
              disabled={rows.length >= APPLY_MAX_ROWS}
              data-testid="template-apply-add-row"
            >
              {t('templates.applyDialog.addRow')}
            </Button>
            <Typography.Text type="secondary" style={{ fontSize: 12 }}>
              {t('templates.applyDialog.maxRows', { count: APPLY_MAX_ROWS })}
            </Typography.Text>
          </Flex>
          {touched && !valid ? (
            <Alert type="error" showIcon title={t('templates.applyDialog.nameRequired')} />
          ) : null}
        </Flex>
      )}
    </Modal>
  );
}

function ApplyRowInputs({
  row,
  index,
  showError,
  canRemove,
  onChange,
  onRemove,
}: {
  row: ApplyRow;
  index: number;
  showError: boolean;
  canRemove: boolean;
  onChange: (key: number, field: (typeof FIELDS)[number], value: string) => void;
  onRemove: (key: number) => void;
}) {
  const { t } = useTranslation();
  return (
    <>
      {FIELDS.map((field) => (
        <Input
          key={field}
          value={row[field]}
          maxLength={field === 'name' ? 100 : field === 'sourcePath' ? 500 : 255}
          placeholder={t(fieldLabels[field])}
          aria-label={`${t(fieldLabels[field])} ${String(index + 1)}`}
          status={field === 'name' && showError && row.name.trim() === '' ? 'error' : undefined}
          onChange={(event) => onChange(row.key, field, event.target.value)}
          data-testid={`template-apply-${field}-${String(index)}`}
        />
      ))}
      <Tooltip title={t('templates.applyDialog.removeRow')}>
        <Button
          type="text"
          icon={<DeleteOutlined />}
          aria-label={t('templates.applyDialog.removeRow')}
          disabled={!canRemove}
          onClick={() => onRemove(row.key)}
          data-testid={`template-apply-remove-${String(index)}`}
        />
      </Tooltip>
    </>
  );
}
