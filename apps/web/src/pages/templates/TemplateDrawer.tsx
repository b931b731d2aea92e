/**
 * Create, edit or (for viewers) read a task template. The task body is edited as JSON; the
 * server checks it with the task schema and its 400 answer is shown as it is.
 */
import { useState } from 'react';
import { Alert, App, Button, Drawer, Flex, Form, Input, Skeleton, Typography } from 'antd';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useTranslation } from 'react-i18next';
import { TASK_TEMPLATE_DESCRIPTION_MAX, TASK_TEMPLATE_NAME_MAX, apiRoutes } from '@backupx/contract';
import type { TaskTemplateDetail } from '@backupx/contract';
import { apiCall, isApiError } from '../../api/client.ts';
import { LoadError } from '../../components/LoadError.tsx';
import { errorText } from '../../lib/i18n-helpers.ts';
import {
  NEW_TEMPLATE_PAYLOAD,
  parsePayload,
  payloadToText,
  templateBody,
  templateKeys,
} from './templateQueries.ts';

interface FormValues {
  name: string;
  description: string;
  payload: string;
}

export function TemplateDrawer({
  open,
  templateId,
  canWrite,
  onClose,
}: {
  open: boolean;
  templateId: number | null;
  canWrite: boolean;
  onClose: () => void;
}) {
  const { t } = useTranslation();
  const isEdit = templateId !== null;
  const detail = useQuery({
    queryKey: templateKeys.detail(templateId ?? 0),
    queryFn: ({ signal }) => apiCall(apiRoutes.templates.get, { params: { id: templateId ?? 0 }, signal }),
    enabled: open && isEdit,
    staleTime: 0,
  });
  const title = !isEdit
    ? t('templates.createTitle')
    : canWrite
      ? t('templates.editTitle', { name: detail.data?.name ?? '' })
      : t('templates.viewTitle', { name: detail.data?.name ?? '' });

  return (
    <Drawer
      open={open}
      onClose={onClose}
      size={720}
      destroyOnHidden
      title={title}
      data-testid="template-drawer"
    >
      {isEdit && detail.error ? (
        <LoadError error={detail.error} onRetry={() => void detail.refetch()} />
      ) : isEdit && !detail.data ? (
        <Skeleton active paragraph={{ rows: 8 }} />
      ) : (
        <TemplateForm template={detail.data} canWrite={canWrite} onDone={onClose} />
      )}
    </Drawer>
  );
}

function TemplateForm({
  template,
  canWrite,
  onDone,
}: {
  template: TaskTemplateDetail | undefined;
  canWrite: boolean;
  onDone: () => void;
}) {
  const { t } = useTranslation();
  const { message } = App.useApp();
  const queryClient = useQueryClient();
  const [form] = Form.useForm<FormValues>();
  const [serverError, setServerError] = useState<unknown>(null);

  const save = useMutation({
    mutationFn: (values: FormValues) => {
      const parsed = parsePayload(values.payload);
      if (!parsed.ok) throw new Error('unreachable: the form validated the payload');
      const body = templateBody(values.name, values.description, parsed.payload);
      return template
        ? apiCall(apiRoutes.templates.update, { params: { id: template.id }, body })
        : apiCall(apiRoutes.templates.create, { body });
    },
    onMutate: () => setServerError(null),
    onSuccess: (saved) => {
      void message.success(
        template
          ? t('templates.updated', { name: saved.name })
          : t('templates.created', { name: saved.name }),
      );
      void queryClient.invalidateQueries({ queryKey: templateKeys.all });
      onDone();
    },
    onError: (error) => setServerError(error),
  });

  const masked = template?.maskedFields.includes('dbPassword') ?? false;

  return (
    <Form<FormValues>
      form={form}
      layout="vertical"
      disabled={!canWrite}
      initialValues={{
        name: template?.name ?? '',
        description: template?.description ?? '',
        payload: payloadToText(template ? template.payload : NEW_TEMPLATE_PAYLOAD),
      }}
      onFinish={(values) => save.mutate(values)}
      data-testid="template-form"
    >
      {canWrite ? null : (
        <Alert type="info" showIcon title={t('templates.form.readOnly')} style={{ marginBottom: 16 }} />
      )}
      <Form.Item
        name="name"
        label={t('templates.form.name')}
        rules={[{ required: true, whitespace: true, message: t('templates.form.nameRequired') }]}
      >
        <Input maxLength={TASK_TEMPLATE_NAME_MAX} data-testid="template-form-name" />
      </Form.Item>
      <Form.Item name="description" label={t('templates.form.description')}>
        <Input.TextArea
          autoSize={{ minRows: 1, maxRows: 4 }}
          maxLength={TASK_TEMPLATE_DESCRIPTION_MAX}
          data-testid="template-form-description"
        />
      </Form.Item>
      <Form.Item
        name="payload"
        label={t('templates.form.payload')}
        extra={t('templates.form.payloadHelp')}
        rules={[
          {
            validator: (_rule, value: string) => {
              const parsed = parsePayload(value);
              if (parsed.ok) return Promise.resolve();
              return Promise.reject(
                new Error(
                  parsed.reason === 'json'
                    ? t('templates.form.payloadInvalidJson', { error: parsed.error })
                    : t('templates.form.payloadNotObject'),
                ),
              );
            },
          },
        ]}
      >
        <Input.TextArea
          className="bx-mono"
          spellCheck={false}
          autoSize={{ minRows: 12, maxRows: 28 }}
          style={{ fontSize: 13 }}
          data-testid="template-form-payload"
        />
      </Form.Item>
      {masked ? (
        <Alert
          type="info"
          showIcon
          title={t('templates.form.maskedPassword')}
          style={{ marginBottom: 16 }}
          data-testid="template-form-masked"
        />
      ) : null}
      {serverError ? <ServerError error={serverError} /> : null}
      {canWrite ? (
        <Flex justify="flex-end" gap={8}>
          <Button onClick={onDone}>{t('common.cancel')}</Button>
          <Button
            type="primary"
            htmlType="submit"
            loading={save.isPending}
            data-testid="template-form-submit"
          >
            {t('common.save')}
          </Button>
        </Flex>
      ) : null}
    </Form>
  );
}

/** The server's answer to a rejected template: translated code, then its own message and details. */
function ServerError({ error }: { error: unknown }) {
  const { t } = useTranslation();
  const headline = errorText(t, error);
  const serverMessage = isApiError(error) && error.message !== headline ? error.message : null;
  const details = isApiError(error) ? (error.details ?? []) : [];
  return (
    <Alert
      type="error"
      showIcon
      title={t('templates.form.serverRejected')}
      description={
        <Flex vertical gap={4}>
          <span>{headline}</span>
          {serverMessage ? (
            <Typography.Text className="bx-mono" style={{ fontSize: 12, overflowWrap: 'anywhere' }}>
              {serverMessage}
            </Typography.Text>
          ) : null}
          {details.length > 0 ? (
            <ul style={{ margin: 0, paddingInlineStart: 18 }}>
              {details.map((detail, index) => (
                <li key={`${detail.path}-${String(index)}`} className="bx-mono" style={{ fontSize: 12 }}>
                  {detail.path !== '' ? `${detail.path}: ` : ''}
                  {detail.message}
                </li>
              ))}
            </ul>
          ) : null}
        </Flex>
      }
      style={{ marginBottom: 16 }}
      data-testid="template-form-error"
    />
  );
}
