/**
 * Confirms a restore (SPEC §7.1, §15.5): warns that it overwrites data, shows what is restored,
 * and for file backups offers an absolute "restore to directory". Starting it opens the restore
 * record with its live log.
 */
import { useEffect, useState } from 'react';
import { Alert, App, Button, Descriptions, Flex, Form, Input, Modal, Tag, Typography } from 'antd';
import { CloudServerOutlined, FolderOpenOutlined, RollbackOutlined } from '@ant-design/icons';
import { useMutation, useQueryClient } from '@tanstack/react-query';
import { useTranslation } from 'react-i18next';
import { useNavigate } from 'react-router';
import { apiRoutes } from '@backupx/contract';
import type { RecordSummary } from '@backupx/contract';
import { apiCall } from '../../api/client.ts';
import { formatBytes } from '../../lib/format.ts';
import { errorText } from '../../lib/i18n-helpers.ts';
import { useFieldErrors } from '../../lib/useFieldErrors.ts';
import { useNodeName } from '../nodes/nodeUi.tsx';
import { DirectoryPicker } from '../tasks/DirectoryPicker.tsx';
import { isAbsolutePath } from '../tasks/taskForm.ts';
import { TaskTypeTag } from './recordUi.tsx';

export const restoresPath = '/restore/records';

interface RestoreModalProps {
  record: RecordSummary | null;
  /** Archive paths for a selective restore; empty = everything. */
  selectedPaths: string[];
  onClose: () => void;
}

interface RestoreValues {
  /** Absent for database restores: the form then has no field at all. */
  targetPath?: string;
}

const PREVIEW_PATHS = 6;

export function RestoreModal({ record, selectedPaths, onClose }: RestoreModalProps) {
  const { t } = useTranslation();
  const { message } = App.useApp();
  const nodeName = useNodeName();
  const navigate = useNavigate();
  const queryClient = useQueryClient();
  const [form] = Form.useForm<RestoreValues>();
  const applyFieldErrors = useFieldErrors(form);
  const [picking, setPicking] = useState(false);
  const isFile = record?.taskType === 'file';

  useEffect(() => {
    if (record) form.resetFields();
  }, [record, form]);

  const start = useMutation({
    mutationFn: (values: RestoreValues) => {
      if (!record) throw new Error('no record');
      const targetPath = (values.targetPath ?? '').trim();
      return apiCall(apiRoutes.restores.start, {
        params: { id: record.id },
        body: {
          ...(selectedPaths.length > 0 ? { selectedPaths } : {}),
          ...(isFile && targetPath !== '' ? { targetPath } : {}),
        },
      });
    },
    onSuccess: (restore) => {
      void message.success(t('records.restore.started'));
      void queryClient.invalidateQueries({ queryKey: ['restores'] });
      onClose();
      void navigate(`${restoresPath}?restoreId=${String(restore.id)}`);
    },
    onError: (error) => {
      applyFieldErrors(error);
      void message.error(errorText(t, error));
    },
  });

  return (
    <Modal
      open={record !== null}
      onCancel={onClose}
      width={600}
      destroyOnHidden
      title={
        <span>
          <RollbackOutlined style={{ marginInlineEnd: 8 }} />
          {selectedPaths.length > 0 ? t('records.restore.titleSelected') : t('records.restore.title')}
        </span>
      }
      footer={[
        <Button key="cancel" onClick={onClose}>
          {t('common.cancel')}
        </Button>,
        <Button
          key="start"
          type="primary"
          danger
          icon={<RollbackOutlined />}
          loading={start.isPending}
          onClick={() => form.submit()}
          data-testid="restore-confirm"
        >
          {t('records.restore.start')}
        </Button>,
      ]}
    >
      {record ? (
        <div data-testid="restore-modal">
          <Alert
            type="warning"
            showIcon
            title={t('records.restore.warningTitle')}
            description={isFile ? t('records.restore.warningFile') : t('records.restore.warningDatabase')}
            style={{ marginBottom: 16 }}
          />
          <Descriptions
            size="small"
            column={1}
            bordered
            style={{ marginBottom: 16 }}
            items={[
              { key: 'task', label: t('records.columns.task'), children: record.taskName },
              {
                key: 'type',
                label: t('tasks.detail.type'),
                children: <TaskTypeTag type={record.taskType} />,
              },
              { key: 'node', label: t('records.restore.node'), children: nodeName(record.nodeId) },
              {
                key: 'file',
                label: t('records.restore.source'),
                children: (
                  <Typography.Text className="bx-mono bx-break" style={{ fontSize: 13 }}>
                    {record.fileName} ({formatBytes(record.fileSize)})
                  </Typography.Text>
                ),
              },
              ...(selectedPaths.length > 0
                ? [
                    {
                      key: 'selection',
                      label: t('records.restore.selection'),
                      children: (
                        <div data-testid="restore-selection">
                          <Typography.Text>
                            {t('records.restore.selectionCount', { count: selectedPaths.length })}
                          </Typography.Text>
                          <ul style={{ margin: '4px 0 0', paddingInlineStart: 18 }}>
                            {selectedPaths.slice(0, PREVIEW_PATHS).map((path) => (
                              <li key={path} className="bx-mono bx-break" style={{ fontSize: 12 }}>
                                {path}
                              </li>
                            ))}
                          </ul>
                          {selectedPaths.length > PREVIEW_PATHS ? (
                            <Typography.Text type="secondary" style={{ fontSize: 12 }}>
                              {t('records.restore.andMore', { count: selectedPaths.length - PREVIEW_PATHS })}
                            </Typography.Text>
                          ) : null}
                        </div>
                      ),
                    },
                  ]
                : []),
            ]}
          />
          <Form<RestoreValues>
            form={form}
            layout="vertical"
            initialValues={{ targetPath: '' }}
            onFinish={(values) => start.mutate(values)}
          >
            {isFile ? (
              <Form.Item
                label={t('records.restore.targetPath')}
                extra={t('records.restore.targetPathHelp', { name: nodeName(record.nodeId) })}
                style={{ marginBottom: 0 }}
              >
                <Flex gap={8}>
                  <Form.Item
                    name="targetPath"
                    noStyle
                    rules={[
                      {
                        validator: (_rule, value: string | undefined) => {
                          const path = (value ?? '').trim();
                          return path === '' || isAbsolutePath(path)
                            ? Promise.resolve()
                            : Promise.reject(new Error(t('tasks.form.pathAbsolute')));
                        },
                      },
                    ]}
                  >
                    <Input
                      placeholder={t('records.restore.targetPathPlaceholder')}
                      className="bx-mono"
                      allowClear
                      data-testid="restore-target-path"
                    />
                  </Form.Item>
                  <Button
                    icon={<FolderOpenOutlined />}
                    onClick={() => setPicking(true)}
                    data-testid="restore-target-browse"
                  >
                    {t('tasks.form.browse')}
                  </Button>
                </Flex>
              </Form.Item>
            ) : (
              <Typography.Text type="secondary">{t('records.restore.databaseNote')}</Typography.Text>
            )}
          </Form>
          {picking ? (
            <DirectoryPicker
              open
              mode="directory"
              source={record.nodeId > 0 ? record.nodeId : null}
              subtitle={
                <Tag icon={<CloudServerOutlined />} style={{ marginInlineEnd: 0 }}>
                  {nodeName(record.nodeId)}
                </Tag>
              }
              initialPath={form.getFieldValue('targetPath') as string | undefined}
              onClose={() => setPicking(false)}
              onSelect={(path) => form.setFieldValue('targetPath', path)}
            />
          ) : null}
        </div>
      ) : null}
    </Modal>
  );
}
