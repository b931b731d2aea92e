import { useEffect, useMemo, useState } from 'react';
import {
  Alert,
  App,
  Button,
  Col,
  Collapse,
  Divider,
  Drawer,
  Flex,
  Form,
  Input,
  InputNumber,
  Row,
  Select,
  Skeleton,
  Switch,
  Typography,
} from 'antd';
import type { FormRule } from 'antd';
import { ApiOutlined, GoogleOutlined } from '@ant-design/icons';
import { useMutation, useQuery } from '@tanstack/react-query';
import { useTranslation } from 'react-i18next';
import { apiRoutes } from '@backupx/contract';
import type { RcloneBackendInfo, StorageTargetDetail, StorageTargetSummary } from '@backupx/contract';
import { apiCall } from '../../api/client.ts';
import { errorText, translateDynamic } from '../../lib/i18n-helpers.ts';
import { LoadError } from '../../components/LoadError.tsx';
import { ErrorDetail } from './ErrorDetail.tsx';
import { applyApiFieldErrors } from './formErrors.ts';
import { httpUrlValidator } from './validators.ts';
import { RevealOnChange } from './RevealOnChange.tsx';
import {
  buildConfigPayload,
  builtinStorageTypes,
  configFormValues,
  defaultConfigValues,
  describeRcloneFields,
  describeStorageFields,
  parseTypeValue,
  quotaBytesToGb,
  quotaGbToBytes,
  rcloneGroup,
  rcloneGroups,
  rcloneTypeValue,
} from './storageFields.ts';
import type { StorageFieldSpec, StorageFieldValue } from './storageFields.ts';
import { useStorageTypeLabel } from './storageTypeLabels.tsx';
import { RCLONE_CATALOGUE_TIMEOUT_MS, STORAGE_TEST_TIMEOUT_MS, storageKeys } from './storageQueries.ts';

interface FormValues {
  name: string;
  typeValue: string;
  description?: string;
  enabled: boolean;
  quotaGb: number | null;
  /** Absent until a type is chosen. */
  config?: Record<string, StorageFieldValue | undefined>;
}

type TestResult = { ok: true; message: string } | { ok: false; error: unknown } | null;

/** Fields of a selected type; for an rclone backend missing from the catalogue, the stored keys. */
function fieldsFor(
  typeValue: string | undefined,
  catalogue: readonly RcloneBackendInfo[] | undefined,
  stored: Record<string, unknown> | undefined,
): StorageFieldSpec[] {
  const parsed = typeValue ? parseTypeValue(typeValue) : null;
  if (!parsed) return [];
  if (parsed.type !== 'rclone') return describeStorageFields(parsed.type);
  const backend = catalogue?.find((entry) => entry.name === parsed.rcloneBackend);
  if (backend) return describeRcloneFields(backend);
  const keys = Object.keys(stored ?? {}).filter((key) => key !== 'backend' && key !== 'root');
  return describeRcloneFields({
    name: parsed.rcloneBackend ?? '',
    description: '',
    options: keys.map((key) => ({ key, label: '', required: false, isPassword: false, advanced: false })),
  });
}

/** Create or edit a storage target; the configuration fields follow the chosen type. */
export function StorageTargetDrawer({
  editing,
  onClose,
  onSaved,
}: {
  editing: StorageTargetSummary | 'new' | null;
  onClose: () => void;
  onSaved: (target: StorageTargetDetail) => void;
}) {
  const { t } = useTranslation();
  const { message } = App.useApp();
  const [form] = Form.useForm<FormValues>();
  const existing = editing !== null && editing !== 'new' ? editing : null;
  const open = editing !== null;
  const [testResult, setTestResult] = useState<TestResult>(null);
  const typeValue = Form.useWatch('typeValue', form) as string | undefined;

  const detail = useQuery({
    queryKey: storageKeys.detail(existing?.id ?? 0),
    queryFn: ({ signal }) =>
      apiCall(apiRoutes.storageTargets.get, { params: { id: existing?.id ?? 0 }, signal }),
    enabled: existing !== null,
    staleTime: 0,
  });
  const catalogue = useQuery({
    queryKey: storageKeys.rcloneBackends,
    queryFn: ({ signal }) =>
      apiCall(apiRoutes.storageTargets.rcloneBackends, { signal, timeoutMs: RCLONE_CATALOGUE_TIMEOUT_MS }),
    enabled: open,
    staleTime: Number.POSITIVE_INFINITY,
  });

  const storedConfig = existing ? detail.data?.config : undefined;
  const fields = useMemo(
    () => fieldsFor(typeValue, catalogue.data, storedConfig),
    [typeValue, catalogue.data, storedConfig],
  );
  const masked = useMemo(
    () => new Set(existing ? (detail.data?.maskedFields ?? []) : []),
    [existing, detail.data],
  );
  const parsedType = typeValue ? parseTypeValue(typeValue) : null;
  const isGoogleDrive = parsedType?.type === 'google_drive';
  const ready = existing === null || detail.isSuccess;

  // Load the values of the target (or the defaults) each time the drawer opens.
  useEffect(() => {
    if (editing === null) return;
    form.resetFields();
    if (editing === 'new') {
      form.setFieldsValue({
        name: '',
        typeValue: undefined,
        description: '',
        enabled: true,
        quotaGb: 0,
        config: {},
      });
    }
  }, [editing, form]);

  useEffect(() => {
    if (!existing || !detail.data) return;
    const target = detail.data;
    const value =
      target.type === 'rclone' && typeof target.config.backend === 'string'
        ? rcloneTypeValue(target.config.backend)
        : target.type;
    form.setFieldsValue({
      name: target.name,
      typeValue: value,
      description: target.description,
      enabled: target.enabled,
      quotaGb: quotaBytesToGb(target.quotaBytes),
      config: configFormValues(fieldsFor(value, catalogue.data, target.config), target.config),
    });
  }, [existing, detail.data, catalogue.data, form]);

  const onTypeChange = (value: string) => {
    setTestResult(null);
    const next = fieldsFor(value, catalogue.data, undefined);
    const defaults = defaultConfigValues(next);
    // New local-disk targets relay agents' uploads through the master by default (SPEC §15.8).
    if (next.some((field) => field.name === 'masterRelay')) defaults.masterRelay = true;
    form.setFieldValue('config', defaults);
  };

  const payload = (values: FormValues) => {
    const parsed = parseTypeValue(values.typeValue);
    if (!parsed) throw new Error('No storage type selected');
    return {
      name: values.name.trim(),
      type: parsed.type,
      description: (values.description ?? '').trim(),
      enabled: values.enabled,
      quotaBytes: quotaGbToBytes(values.quotaGb),
      config: buildConfigPayload(fields, values.config ?? {}, {
        ...(parsed.rcloneBackend === undefined ? {} : { rcloneBackend: parsed.rcloneBackend }),
        ...(storedConfig ? { storedConfig } : {}),
      }),
    };
  };

  const resolveErrorPath = (path: string[]): string[] | null => {
    const [head, field] = path;
    if (head === 'config')
      return fields.some((entry) => entry.name === field) ? ['config', field ?? ''] : null;
    return head === 'name' || head === 'description' ? [head] : null;
  };

  const save = useMutation({
    mutationFn: (values: FormValues) => {
      const body = payload(values);
      return existing
        ? apiCall(apiRoutes.storageTargets.update, { params: { id: existing.id }, body })
        : apiCall(apiRoutes.storageTargets.create, { body });
    },
    onSuccess: (target) => {
      void message.success(
        existing ? t('storage.updated', { name: target.name }) : t('storage.created', { name: target.name }),
      );
      onSaved(target);
      onClose();
    },
    onError: (error) => {
      applyApiFieldErrors(form, error, resolveErrorPath);
      void message.error(errorText(t, error));
    },
  });

  const test = useMutation({
    mutationFn: (values: FormValues) =>
      apiCall(apiRoutes.storageTargets.testUnsaved, {
        body: { ...payload(values), ...(existing ? { targetId: existing.id } : {}) },
        timeoutMs: STORAGE_TEST_TIMEOUT_MS,
      }),
    onMutate: () => setTestResult(null),
    onSuccess: (result) => setTestResult({ ok: true, message: result.message }),
    onError: (error) => {
      applyApiFieldErrors(form, error, resolveErrorPath);
      setTestResult({ ok: false, error });
    },
  });

  const authorize = useMutation({
    mutationFn: (values: FormValues) => {
      const config = values.config ?? {};
      const text = (value: unknown) => (typeof value === 'string' ? value.trim() : '');
      return apiCall(apiRoutes.storageTargets.googleDriveAuthUrl, {
        body: {
          ...(existing ? { targetId: existing.id } : {}),
          name: values.name.trim(),
          description: (values.description ?? '').trim(),
          enabled: values.enabled,
          quotaBytes: quotaGbToBytes(values.quotaGb),
          clientId: text(config.clientId),
          clientSecret: text(config.clientSecret),
          folderId: text(config.folderId),
        },
      });
    },
    onSuccess: ({ authUrl }) => {
      window.location.assign(authUrl);
    },
    onError: (error) => void message.error(errorText(t, error)),
  });

  const validated = async (): Promise<FormValues | null> => {
    try {
      await form.validateFields();
      return form.getFieldsValue(true) as FormValues;
    } catch {
      return null;
    }
  };

  const basicFields = fields.filter((field) => !field.advanced);
  const advancedFields = fields.filter((field) => field.advanced);

  return (
    <Drawer
      open={open}
      onClose={onClose}
      title={existing ? t('storage.editTitle', { name: existing.name }) : t('storage.createTitle')}
      size={560}
      forceRender
      data-testid="storage-drawer"
      afterOpenChange={(visible) => {
        if (!visible) {
          save.reset();
          test.reset();
          setTestResult(null);
        }
      }}
      footer={
        <Flex justify="space-between" gap={8} wrap>
          <Button
            icon={<ApiOutlined />}
            loading={test.isPending}
            disabled={!typeValue || !ready}
            onClick={() => void validated().then((values) => values && test.mutate(values))}
            data-testid="storage-form-test"
          >
            {test.isPending ? t('storage.testing') : t('storage.testConnection')}
          </Button>
          <Flex gap={8}>
            <Button onClick={onClose}>{t('common.cancel')}</Button>
            <Button
              type="primary"
              loading={save.isPending}
              disabled={!ready}
              onClick={() => form.submit()}
              data-testid="storage-form-submit"
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
      <Form<FormValues>
        form={form}
        layout="vertical"
        onFinish={(values) => save.mutate({ ...(form.getFieldsValue(true) as FormValues), ...values })}
        style={{ display: ready ? undefined : 'none' }}
      >
        <Form.Item
          name="name"
          label={t('storage.fieldName')}
          rules={[
            { required: true, whitespace: true, message: t('storage.fieldNameRequired') },
            { max: 128, message: t('storage.fieldTooLong', { max: 128 }) },
          ]}
        >
          <Input
            autoComplete="off"
            placeholder={t('storage.fieldNamePlaceholder')}
            data-testid="storage-form-name"
          />
        </Form.Item>
        <Form.Item
          name="typeValue"
          label={t('storage.fieldType')}
          extra={existing ? t('storage.fieldTypeImmutable') : undefined}
          rules={[{ required: true, message: t('storage.fieldTypeRequired') }]}
        >
          <TypeSelect
            disabled={existing !== null}
            catalogue={catalogue.data}
            catalogueLoading={catalogue.isPending}
            onChange={onTypeChange}
          />
        </Form.Item>
        <Form.Item
          name="description"
          label={t('storage.fieldDescription')}
          rules={[{ max: 255, message: t('storage.fieldTooLong', { max: 255 }) }]}
        >
          <Input.TextArea autoSize={{ minRows: 1, maxRows: 4 }} data-testid="storage-form-description" />
        </Form.Item>
        <Row gutter={16}>
          <Col xs={24} sm={10}>
            <Form.Item name="enabled" label={t('storage.fieldEnabled')} valuePropName="checked">
              <Switch data-testid="storage-form-enabled" />
            </Form.Item>
          </Col>
          <Col xs={24} sm={14}>
            <Form.Item name="quotaGb" label={t('storage.fieldQuota')} extra={t('storage.fieldQuotaHelp')}>
              <InputNumber<number>
                min={0}
                step={1}
                suffix="GB"
                style={{ width: '100%' }}
                data-testid="storage-form-quota"
              />
            </Form.Item>
          </Col>
        </Row>

        {typeValue ? (
          <>
            <Divider titlePlacement="start" style={{ marginTop: 0 }}>
              {t('storage.configSection')}
            </Divider>
            {isGoogleDrive ? <GoogleDriveHelp existing={existing !== null} /> : null}
            {parsedType?.type === 'rclone' ? (
              <RcloneHelp
                backend={catalogue.data?.find((entry) => entry.name === parsedType.rcloneBackend)}
              />
            ) : null}
            {basicFields.map((field) => (
              <ConfigField
                key={field.name}
                field={field}
                stored={masked.has(field.name)}
                storageType={parsedType?.type ?? ''}
              />
            ))}
            {advancedFields.length > 0 ? (
              <Collapse
                ghost
                size="small"
                style={{ marginBottom: 16 }}
                items={[
                  {
                    key: 'advanced',
                    forceRender: true,
                    label: t('storage.advanced', { count: advancedFields.length }),
                    children: advancedFields.map((field) => (
                      <ConfigField
                        key={field.name}
                        field={field}
                        stored={masked.has(field.name)}
                        storageType={parsedType?.type ?? ''}
                      />
                    )),
                  },
                ]}
              />
            ) : null}
            {isGoogleDrive ? (
              <Button
                block
                icon={<GoogleOutlined />}
                loading={authorize.isPending}
                onClick={() => {
                  void form
                    .validateFields(['name', ['config', 'clientId'], ['config', 'clientSecret']])
                    .then(() => authorize.mutate(form.getFieldsValue(true) as FormValues))
                    .catch(() => undefined);
                }}
                style={{ marginBottom: 16 }}
                data-testid="storage-google-authorize"
              >
                {t('storage.googleAuthorize')}
              </Button>
            ) : null}
            <RevealOnChange trigger={testResult}>
              <TestResultAlert result={testResult} />
            </RevealOnChange>
          </>
        ) : (
          <Alert type="info" showIcon title={t('storage.chooseTypeFirst')} />
        )}
      </Form>
    </Drawer>
  );
}

function TestResultAlert({ result }: { result: TestResult }) {
  const { t } = useTranslation();
  if (result === null) return null;
  return result.ok ? (
    <Alert
      type="success"
      showIcon
      title={t('storage.testSucceededShort')}
      description={result.message}
      data-testid="storage-form-test-result"
      data-ok="true"
    />
  ) : (
    <Alert
      type="error"
      showIcon
      title={t('storage.testFailedShort')}
      description={<ErrorDetail error={result.error} detailOnly />}
      data-testid="storage-form-test-result"
      data-ok="false"
    />
  );
}

/** The type select: built-in types first, then the installed rclone's backends by family. */
function TypeSelect({
  value,
  onChange,
  disabled,
  catalogue,
  catalogueLoading,
}: {
  value?: string;
  onChange?: (value: string) => void;
  disabled: boolean;
  catalogue: readonly RcloneBackendInfo[] | undefined;
  catalogueLoading: boolean;
}) {
  const { t } = useTranslation();
  const typeLabel = useStorageTypeLabel();
  const options = useMemo(() => {
    const groups: {
      label: string;
      title: string;
      options: { value: string; label: string; search: string }[];
    }[] = [
      {
        label: t('storage.typeGroups.builtin'),
        title: 'builtin',
        options: builtinStorageTypes.map((type) => ({
          value: type,
          label: typeLabel(type),
          search: `${type} ${typeLabel(type)}`,
        })),
      },
    ];
    for (const group of rcloneGroups) {
      const backends = (catalogue ?? []).filter((backend) => rcloneGroup(backend.name) === group);
      if (backends.length === 0) continue;
      groups.push({
        label: t(`storage.typeGroups.${group}`),
        title: group,
        options: backends.map((backend) => ({
          value: rcloneTypeValue(backend.name),
          label: `${backend.description || backend.name} (rclone)`,
          search: `${backend.name} ${backend.description}`,
        })),
      });
    }
    return groups;
  }, [catalogue, t, typeLabel]);
  return (
    <Select<string>
      value={value}
      onChange={onChange}
      disabled={disabled}
      showSearch={{
        filterOption: (input, option) =>
          ((option as { search?: string } | undefined)?.search ?? '')
            .toLowerCase()
            .includes(input.toLowerCase()),
      }}
      placeholder={t('storage.fieldTypePlaceholder')}
      options={options}
      loading={catalogueLoading}
      notFoundContent={t('storage.noTypeMatches')}
      data-testid="storage-form-type"
      listHeight={360}
    />
  );
}

function ConfigField({
  field,
  stored,
  storageType,
}: {
  field: StorageFieldSpec;
  stored: boolean;
  storageType: string;
}) {
  const { t } = useTranslation();
  const label =
    field.label !== undefined ? field.name : translateDynamic(t, `storage.fields.${field.name}`, field.name);
  // Help may differ by type (`webdav__endpoint`), else it is shared by every type with the field.
  const help =
    field.label !== undefined
      ? field.label
      : translateDynamic(
          t,
          `storage.fieldHelp.${storageType}__${field.name}`,
          translateDynamic(t, `storage.fieldHelp.${field.name}`, ''),
        );
  const testId = `storage-field-${field.name}`;
  const keepsStored = field.secret && stored;
  const rules: FormRule[] = [];
  if (field.required && !keepsStored && field.kind !== 'boolean') {
    rules.push({
      required: true,
      whitespace: field.kind !== 'number',
      message: t('storage.fieldRequired', { field: label }),
    });
  }
  if (field.isUrl) rules.push({ validator: httpUrlValidator(t('storage.fieldUrl')) });
  if (field.maxLength !== undefined && field.kind !== 'number') {
    rules.push({ max: field.maxLength, message: t('storage.fieldTooLong', { max: field.maxLength }) });
  }
  if (field.name === 'basePath' && storageType === 'local_disk') {
    rules.push({ pattern: /^\//, message: t('storage.fieldAbsolutePath') });
  }
  const placeholder = keepsStored ? t('storage.secretKeep') : undefined;
  const extra = [help, keepsStored ? t('storage.secretStored') : ''].filter((text) => text !== '').join(' ');
  const name = ['config', field.name];

  switch (field.kind) {
    case 'boolean':
      return (
        <Form.Item name={name} label={label} extra={extra || undefined} valuePropName="checked">
          <Switch data-testid={testId} />
        </Form.Item>
      );
    case 'number':
      return (
        <Form.Item name={name} label={label} extra={extra || undefined} rules={rules}>
          <InputNumber<number>
            min={field.min}
            max={field.max}
            precision={0}
            style={{ width: '100%' }}
            placeholder={field.defaultValue === undefined ? undefined : String(field.defaultValue)}
            data-testid={testId}
          />
        </Form.Item>
      );
    case 'password':
      return (
        <Form.Item name={name} label={label} extra={extra || undefined} rules={rules}>
          <Input.Password autoComplete="new-password" placeholder={placeholder} data-testid={testId} />
        </Form.Item>
      );
    case 'multiline':
      return (
        <Form.Item name={name} label={label} extra={extra || undefined} rules={rules}>
          <Input.TextArea
            autoSize={{ minRows: 3, maxRows: 10 }}
            placeholder={placeholder}
            className="bx-mono"
            spellCheck={false}
            data-testid={testId}
          />
        </Form.Item>
      );
    case 'text':
      return (
        <Form.Item name={name} label={label} extra={extra || undefined} rules={rules}>
          <Input autoComplete="off" placeholder={placeholder} data-testid={testId} />
        </Form.Item>
      );
  }
}

function GoogleDriveHelp({ existing }: { existing: boolean }) {
  const { t } = useTranslation();
  return (
    <Alert
      type="info"
      showIcon
      icon={<GoogleOutlined />}
      style={{ marginBottom: 16 }}
      title={t('storage.googleHelpTitle')}
      description={
        <Typography.Text type="secondary" style={{ fontSize: 13 }}>
          {existing ? t('storage.googleHelpEdit') : t('storage.googleHelpCreate')}
        </Typography.Text>
      }
    />
  );
}

function RcloneHelp({ backend }: { backend: RcloneBackendInfo | undefined }) {
  const { t } = useTranslation();
  return (
    <Alert
      type="info"
      showIcon
      style={{ marginBottom: 16 }}
      title={
        backend
          ? t('storage.rcloneHelpTitle', { name: backend.description || backend.name })
          : t('storage.rcloneUnknownBackend')
      }
      description={t('storage.rcloneHelp')}
    />
  );
}
