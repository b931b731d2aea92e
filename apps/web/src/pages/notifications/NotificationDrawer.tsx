import { useEffect, useState } from 'react';
import {
  Alert,
  App,
  Button,
  Col,
  Divider,
  Drawer,
  Flex,
  Form,
  Input,
  InputNumber,
  Row,
  Segmented,
  Select,
  Skeleton,
  Switch,
  Typography,
} from 'antd';
import { SendOutlined } from '@ant-design/icons';
import { useMutation, useQuery } from '@tanstack/react-query';
import { useTranslation } from 'react-i18next';
import { apiRoutes, eventTypes, notificationTypes } from '@backupx/contract';
import type { NotificationDetail, NotificationSummary, NotificationType } from '@backupx/contract';
import { apiCall } from '../../api/client.ts';
import { LoadError } from '../../components/LoadError.tsx';
import { errorText } from '../../lib/i18n-helpers.ts';
import { ErrorDetail } from '../storage/ErrorDetail.tsx';
import { applyApiFieldErrors } from '../storage/formErrors.ts';
import { httpUrlValidator } from '../storage/validators.ts';
import { RevealOnChange } from '../storage/RevealOnChange.tsx';
import { NotificationTypeIcon } from './NotificationTypeIcon.tsx';
import {
  emptyNotificationForm,
  notificationFormValues,
  notificationInput,
  receivesAnything,
} from './notificationForm.ts';
import type { NotificationFormValues } from './notificationForm.ts';
import { NOTIFICATION_TEST_TIMEOUT_MS, notificationKeys } from './notificationQueries.ts';

type TestResult = { ok: true } | { ok: false; error: unknown } | null;

/** Create or edit a notification channel, with a test send of the unsaved settings. */
export function NotificationDrawer({
  editing,
  onClose,
  onSaved,
}: {
  editing: NotificationSummary | 'new' | null;
  onClose: () => void;
  onSaved: (channel: NotificationDetail) => void;
}) {
  const { t } = useTranslation();
  const { message } = App.useApp();
  const [form] = Form.useForm<NotificationFormValues>();
  const existing = editing !== null && editing !== 'new' ? editing : null;
  const [testResult, setTestResult] = useState<TestResult>(null);
  const type = (Form.useWatch('type', form) as NotificationType | undefined) ?? 'email';
  const selectedEvents =
    (Form.useWatch('eventTypes', form) as NotificationFormValues['eventTypes'] | undefined) ?? [];
  const onSuccess = Form.useWatch('onSuccess', form) as boolean | undefined;
  const onFailure = Form.useWatch('onFailure', form) as boolean | undefined;

  const detail = useQuery({
    queryKey: notificationKeys.detail(existing?.id ?? 0),
    queryFn: ({ signal }) =>
      apiCall(apiRoutes.notifications.get, { params: { id: existing?.id ?? 0 }, signal }),
    enabled: existing !== null,
    staleTime: 0,
  });
  const ready = existing === null || detail.isSuccess;
  const masked = new Set(detail.data?.maskedFields ?? []);
  const keepsSecret = (field: string) => existing !== null && detail.data?.type === type && masked.has(field);

  useEffect(() => {
    if (editing === null) return;
    form.resetFields();
    if (editing === 'new') form.setFieldsValue(emptyNotificationForm());
  }, [editing, form]);

  useEffect(() => {
    if (existing && detail.data) form.setFieldsValue(notificationFormValues(detail.data));
  }, [existing, detail.data, form]);

  const stored = detail.data ? { type: detail.data.type, config: detail.data.config } : undefined;
  const values = () => form.getFieldsValue(true) as NotificationFormValues;

  // Server paths are `config.<field>`; the form keeps each type's fields under `<type>.<field>`.
  const showErrors = (error: unknown) =>
    applyApiFieldErrors(form, error, ([head, field]) => {
      if (head === 'name') return ['name'];
      return head === 'config' && field !== undefined && typeFieldNames[type].includes(field)
        ? [type, field]
        : null;
    });

  const save = useMutation({
    mutationFn: (formValues: NotificationFormValues) => {
      const body = notificationInput(formValues, stored);
      return existing
        ? apiCall(apiRoutes.notifications.update, { params: { id: existing.id }, body })
        : apiCall(apiRoutes.notifications.create, { body });
    },
    onSuccess: (channel) => {
      void message.success(
        existing
          ? t('notifications.updated', { name: channel.name })
          : t('notifications.created', { name: channel.name }),
      );
      onSaved(channel);
      onClose();
    },
    onError: (error) => {
      showErrors(error);
      void message.error(errorText(t, error));
    },
  });

  const test = useMutation({
    mutationFn: (formValues: NotificationFormValues) => {
      const input = notificationInput(formValues, stored);
      return apiCall(apiRoutes.notifications.testUnsaved, {
        body: { ...input, ...(existing ? { id: existing.id } : {}) },
        timeoutMs: NOTIFICATION_TEST_TIMEOUT_MS,
      });
    },
    onMutate: () => setTestResult(null),
    onSuccess: () => setTestResult({ ok: true }),
    onError: (error) => {
      showErrors(error);
      setTestResult({ ok: false, error });
    },
  });

  const runTest = () => {
    // Only the fields of the chosen type matter for a test; the name may still be empty.
    const fields = typeFieldNames[type].map((field) => [type, field]);
    void form
      .validateFields(fields)
      .then(() => test.mutate(values()))
      .catch(() => undefined);
  };

  const secretPlaceholder = (field: string) =>
    keepsSecret(field) ? t('notifications.secretKeep') : undefined;
  const silent = !receivesAnything({
    onSuccess: onSuccess ?? false,
    onFailure: onFailure ?? false,
    eventTypes: selectedEvents,
  });
  const legacyMode = selectedEvents.length === 0;

  return (
    <Drawer
      open={editing !== null}
      onClose={onClose}
      title={
        existing ? t('notifications.editTitle', { name: existing.name }) : t('notifications.createTitle')
      }
      size={560}
      forceRender
      data-testid="notification-drawer"
      afterOpenChange={(open) => {
        if (!open) {
          save.reset();
          test.reset();
          setTestResult(null);
        }
      }}
      footer={
        <Flex justify="space-between" gap={8} wrap>
          <Button
            icon={<SendOutlined />}
            loading={test.isPending}
            disabled={!ready}
            onClick={runTest}
            data-testid="notification-form-test"
          >
            {t('notifications.sendTest')}
          </Button>
          <Flex gap={8}>
            <Button onClick={onClose}>{t('common.cancel')}</Button>
            <Button
              type="primary"
              loading={save.isPending}
              disabled={!ready}
              onClick={() => form.submit()}
              data-testid="notification-form-submit"
            >
              {existing ? t('common.save') : t('common.create')}
            </Button>
          </Flex>
        </Flex>
      }
    >
      {existing && detail.isError ? (
        <LoadError error={detail.error} onRetry={() => void detail.refetch()} />
      ) : !ready ? (
        <Skeleton active paragraph={{ rows: 8 }} />
      ) : null}
      <Form<NotificationFormValues>
        form={form}
        layout="vertical"
        onFinish={() => save.mutate(values())}
        style={{ display: ready ? undefined : 'none' }}
      >
        <Form.Item
          name="name"
          label={t('notifications.fieldName')}
          rules={[
            { required: true, whitespace: true, message: t('notifications.fieldNameRequired') },
            { max: 100, message: t('notifications.fieldTooLong', { max: 100 }) },
          ]}
        >
          <Input
            autoComplete="off"
            placeholder={t('notifications.fieldNamePlaceholder')}
            data-testid="notification-form-name"
          />
        </Form.Item>
        <Form.Item name="type" label={t('notifications.fieldType')} rules={[{ required: true }]}>
          <Segmented<NotificationType>
            block
            onChange={() => setTestResult(null)}
            options={notificationTypes.map((value) => ({
              value,
              label: (
                <span data-testid={`notification-form-type-${value}`}>
                  <NotificationTypeIcon type={value} /> {t(`notifications.types.${value}`)}
                </span>
              ),
            }))}
          />
        </Form.Item>

        <Row gutter={16}>
          <Col span={8}>
            <Form.Item name="enabled" label={t('notifications.fieldEnabled')} valuePropName="checked">
              <Switch data-testid="notification-form-enabled" />
            </Form.Item>
          </Col>
          <Col span={8}>
            <Form.Item name="onSuccess" label={t('notifications.fieldOnSuccess')} valuePropName="checked">
              <Switch disabled={!legacyMode} data-testid="notification-form-on-success" />
            </Form.Item>
          </Col>
          <Col span={8}>
            <Form.Item name="onFailure" label={t('notifications.fieldOnFailure')} valuePropName="checked">
              <Switch disabled={!legacyMode} data-testid="notification-form-on-failure" />
            </Form.Item>
          </Col>
        </Row>
        <Form.Item
          name="eventTypes"
          label={t('notifications.fieldEventTypes')}
          extra={
            legacyMode
              ? t('notifications.fieldEventTypesHelpEmpty')
              : t('notifications.fieldEventTypesHelpSet')
          }
        >
          <Select
            mode="multiple"
            allowClear
            showSearch={{ optionFilterProp: 'label' }}
            placeholder={t('notifications.fieldEventTypesPlaceholder')}
            options={eventTypes.map((value) => ({ value, label: t(`eventCenter.types.${value}`) }))}
            data-testid="notification-form-event-types"
          />
        </Form.Item>
        {silent ? (
          <Alert
            type="warning"
            showIcon
            title={t('notifications.silentWarning')}
            style={{ marginBottom: 16 }}
          />
        ) : null}

        <Divider titlePlacement="start" style={{ marginTop: 0 }}>
          {t('notifications.configSection', { type: t(`notifications.types.${type}`) })}
        </Divider>

        {type === 'email' ? (
          <>
            <Row gutter={12}>
              <Col xs={24} sm={16}>
                <Form.Item
                  name={['email', 'host']}
                  label={t('notifications.fields.host')}
                  rules={[{ required: true, whitespace: true, message: t('notifications.fieldRequired') }]}
                >
                  <Input
                    autoComplete="off"
                    placeholder="smtp.example.com"
                    data-testid="notification-field-host"
                  />
                </Form.Item>
              </Col>
              <Col xs={24} sm={8}>
                <Form.Item
                  name={['email', 'port']}
                  label={t('notifications.fields.port')}
                  extra={t('notifications.fieldHelp.port')}
                  rules={[
                    {
                      required: true,
                      type: 'integer',
                      min: 1,
                      max: 65_535,
                      message: t('notifications.fieldPort'),
                    },
                  ]}
                >
                  <InputNumber<number>
                    min={1}
                    max={65_535}
                    precision={0}
                    style={{ width: '100%' }}
                    data-testid="notification-field-port"
                  />
                </Form.Item>
              </Col>
            </Row>
            <Row gutter={12}>
              <Col xs={24} sm={12}>
                <Form.Item
                  name={['email', 'username']}
                  label={t('notifications.fields.username')}
                  extra={t('notifications.fieldHelp.username')}
                >
                  <Input autoComplete="off" data-testid="notification-field-username" />
                </Form.Item>
              </Col>
              <Col xs={24} sm={12}>
                <Form.Item
                  name={['email', 'password']}
                  label={t('notifications.fields.password')}
                  extra={keepsSecret('password') ? t('notifications.secretStored') : undefined}
                >
                  <Input.Password
                    autoComplete="new-password"
                    placeholder={secretPlaceholder('password')}
                    data-testid="notification-field-password"
                  />
                </Form.Item>
              </Col>
            </Row>
            <Form.Item
              name={['email', 'from']}
              label={t('notifications.fields.from')}
              rules={[{ required: true, whitespace: true, message: t('notifications.fieldRequired') }]}
            >
              <Input
                autoComplete="off"
                placeholder="BackupX <backupx@example.com>"
                data-testid="notification-field-from"
              />
            </Form.Item>
            <Form.Item
              name={['email', 'to']}
              label={t('notifications.fields.to')}
              extra={t('notifications.fieldHelp.to')}
              rules={[{ required: true, type: 'array', min: 1, message: t('notifications.fieldToRequired') }]}
            >
              <Select
                mode="tags"
                open={false}
                suffix={null}
                tokenSeparators={[',', ';', ' ']}
                placeholder="ops@example.com"
                data-testid="notification-field-to"
              />
            </Form.Item>
          </>
        ) : null}

        {type === 'webhook' ? (
          <>
            <Form.Item
              name={['webhook', 'url']}
              label={t('notifications.fields.url')}
              rules={[
                { required: true, whitespace: true, message: t('notifications.fieldRequired') },
                { validator: httpUrlValidator(t('notifications.fieldUrl')) },
              ]}
            >
              <Input
                autoComplete="off"
                placeholder="https://hooks.example.com/backupx"
                data-testid="notification-field-url"
              />
            </Form.Item>
            <Form.Item
              name={['webhook', 'secret']}
              label={t('notifications.fields.secret')}
              extra={
                <Flex vertical gap={2}>
                  <span>{t('notifications.fieldHelp.secretBefore')}</span>
                  <Typography.Text code style={{ whiteSpace: 'nowrap', alignSelf: 'flex-start' }}>
                    X-BackupX-Signature: sha256=&lt;hex&gt;
                  </Typography.Text>
                  <span>{t('notifications.fieldHelp.secretAfter')}</span>
                  {keepsSecret('secret') ? <span>{t('notifications.secretStored')}</span> : null}
                </Flex>
              }
            >
              <Input.Password
                autoComplete="new-password"
                placeholder={secretPlaceholder('secret')}
                data-testid="notification-field-secret"
              />
            </Form.Item>
          </>
        ) : null}

        {type === 'telegram' ? (
          <>
            <Form.Item
              name={['telegram', 'botToken']}
              label={t('notifications.fields.botToken')}
              extra={
                keepsSecret('botToken')
                  ? t('notifications.secretStored')
                  : t('notifications.fieldHelp.botToken')
              }
              rules={[
                {
                  required: !keepsSecret('botToken'),
                  whitespace: true,
                  message: t('notifications.fieldRequired'),
                },
                { pattern: /^[A-Za-z0-9:_-]*$/, message: t('notifications.fieldBotToken') },
              ]}
            >
              <Input.Password
                autoComplete="new-password"
                placeholder={secretPlaceholder('botToken') ?? '123456:ABC-DEF'}
                data-testid="notification-field-bot-token"
              />
            </Form.Item>
            <Form.Item
              name={['telegram', 'chatId']}
              label={t('notifications.fields.chatId')}
              extra={t('notifications.fieldHelp.chatId')}
              rules={[{ required: true, whitespace: true, message: t('notifications.fieldRequired') }]}
            >
              <Input
                autoComplete="off"
                placeholder="-1001234567890"
                data-testid="notification-field-chat-id"
              />
            </Form.Item>
            <Form.Item
              name={['telegram', 'apiBaseUrl']}
              label={t('notifications.fields.apiBaseUrl')}
              extra={t('notifications.fieldHelp.apiBaseUrl')}
              rules={[{ validator: httpUrlValidator(t('notifications.fieldUrl')) }]}
            >
              <Input autoComplete="off" data-testid="notification-field-api-base-url" />
            </Form.Item>
          </>
        ) : null}

        <RevealOnChange trigger={testResult}>
          {testResult === null ? null : testResult.ok ? (
            <Alert
              type="success"
              showIcon
              title={t('notifications.testSent')}
              data-testid="notification-form-test-result"
              data-ok="true"
            />
          ) : (
            <Alert
              type="error"
              showIcon
              title={t('notifications.testFailed')}
              description={<ErrorDetail error={testResult.error} detailOnly />}
              data-testid="notification-form-test-result"
              data-ok="false"
            />
          )}
        </RevealOnChange>
      </Form>
    </Drawer>
  );
}

/** The config fields of each type, validated before a test send. */
const typeFieldNames: Record<NotificationType, readonly string[]> = {
  email: ['host', 'port', 'username', 'password', 'from', 'to'],
  webhook: ['url', 'secret'],
  telegram: ['botToken', 'chatId', 'apiBaseUrl'],
};
