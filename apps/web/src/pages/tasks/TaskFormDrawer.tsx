/**
 * Create/edit drawer of a backup task in three steps: basics (name, type, schedule), source
 * (paths or database) and storage & policy. Server validation errors are put on the fields
 * they concern and the drawer jumps to their step.
 */
import { useEffect, useMemo, useState } from 'react';
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
  Radio,
  Row,
  Select,
  Skeleton,
  Steps,
  Switch,
  Tag,
  Tooltip,
  Typography,
  theme,
} from 'antd';
import {
  CloudServerOutlined,
  DeleteOutlined,
  FolderOpenOutlined,
  LockOutlined,
  PlusOutlined,
  SearchOutlined,
} from '@ant-design/icons';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useTranslation } from 'react-i18next';
import { Link } from 'react-router';
import { apiRoutes, taskTypes } from '@backupx/contract';
import type { TaskDetail, TaskType } from '@backupx/contract';
import { apiCall, isApiError } from '../../api/client.ts';
import { errorText } from '../../lib/i18n-helpers.ts';
import { LoadError } from '../../components/LoadError.tsx';
import { NODE_RPC_TIMEOUT_MS } from '../nodes/nodeLogic.ts';
import { useNodes } from '../nodes/nodeUi.tsx';
import { CronInput } from './CronInput.tsx';
import { DirectoryPicker } from './DirectoryPicker.tsx';
import { RunOnFields } from './RunOnFields.tsx';
import {
  allowsReplication,
  backupModes,
  bodyFromValues,
  defaultPorts,
  defaultTaskValues,
  discoverableTypes,
  isAbsolutePath,
  isServerDatabase,
  replicationTargetOptions,
  stepOfField,
  taskFieldErrors,
  upstreamTaskOptions,
  valuesFromDetail,
  withoutPrimaries,
} from './taskForm.ts';
import type { BackupMode, TaskFormValues } from './taskForm.ts';

/** Shared with the storage targets page (same list, same cache). */
export const storageTargetsQueryKey = ['storage-targets', 'list'] as const;

const windowExamples = [
  'time=01:00-05:00',
  'time=22:00-06:00',
  'days=sat|sun,time=00:00-23:59',
  'days=mon|tue|wed|thu|fri,time=22:00-06:00;days=sat|sun,time=00:00-23:59',
];

const stepFieldNames: readonly (readonly string[])[] = [
  ['name', 'type', 'runOn', 'nodeId', 'nodePoolTag', 'cronExpr', 'enabled'],
  [
    'sourcePaths',
    'excludePatterns',
    'dbHost',
    'dbPort',
    'dbUser',
    'dbPassword',
    'dbNames',
    'dbPath',
    'hanaBackupType',
    'hanaBackupLevel',
    'hanaChannels',
    'hanaRetries',
    'hanaInstanceNumber',
  ],
];

interface TaskFormDrawerProps {
  open: boolean;
  /** null: create a task. */
  taskId: number | null;
  onClose: () => void;
  onSaved: (task: TaskDetail) => void;
}

export function TaskFormDrawer({ open, taskId, onClose, onSaved }: TaskFormDrawerProps) {
  const { t } = useTranslation();
  const { message } = App.useApp();
  const { token } = theme.useToken();
  const queryClient = useQueryClient();
  const [form] = Form.useForm<TaskFormValues>();
  const [step, setStep] = useState(0);
  const [picker, setPicker] = useState<{ mode: 'directory' | 'file'; target: number | 'dbPath' } | null>(
    null,
  );
  const [discovered, setDiscovered] = useState<string[]>([]);
  const isEdit = taskId !== null;
  // Undefined during the first render, before the form is mounted (nothing type-specific shows then).
  const type = Form.useWatch('type', form);
  const backupMode = Form.useWatch('backupMode', form);
  const hanaBackupType = Form.useWatch('hanaBackupType', form);
  const verifyEnabled = Form.useWatch('verifyEnabled', form);
  const encrypt = Form.useWatch('encrypt', form);
  const dbNames = Form.useWatch('dbNames', form);
  const runOn = Form.useWatch('runOn', form);
  const nodeId = Form.useWatch('nodeId', form);
  const storageTargetIds = Form.useWatch('storageTargetIds', form) as number[] | undefined;

  const detail = useQuery({
    queryKey: ['tasks', 'detail', taskId],
    queryFn: ({ signal }) => apiCall(apiRoutes.tasks.get, { params: { id: taskId ?? 0 }, signal }),
    enabled: open && isEdit,
  });
  const targets = useQuery({
    queryKey: storageTargetsQueryKey,
    queryFn: ({ signal }) => apiCall(apiRoutes.storageTargets.list, { signal }),
    enabled: open,
  });
  const tags = useQuery({
    queryKey: ['tasks', 'tags'],
    queryFn: ({ signal }) => apiCall(apiRoutes.tasks.tags, { signal }),
    enabled: open,
  });
  const tasks = useQuery({
    // Same key as the tasks list page (shared cache).
    queryKey: ['tasks', 'list'],
    queryFn: ({ signal }) => apiCall(apiRoutes.tasks.list, { signal }),
    enabled: open,
  });
  const nodes = useNodes({ enabled: open });
  const chosenNode = runOn === 'node' ? nodes.data?.find((node) => node.id === nodeId) : undefined;
  /**
   * Whose file system the pickers browse and where discovery runs: the chosen remote node, else
   * the master. A pool picks its node at run time, so there is nothing to browse.
   */
  const remoteNodeId = chosenNode && !chosenNode.isLocal ? chosenNode.id : null;
  const isPool = runOn === 'pool';
  const placeName = chosenNode && !chosenNode.isLocal ? chosenNode.name : t('tasks.masterNode');

  const loadedTask = isEdit ? detail.data : undefined;
  // The page mounts a fresh drawer for every opening (a new `key`): only the stored task is loaded here.
  useEffect(() => {
    if (open && loadedTask) form.setFieldsValue(valuesFromDetail(loadedTask));
  }, [open, loadedTask, form]);

  const hasStoredPassword = loadedTask?.maskedFields.includes('dbPassword') ?? false;

  const targetOptions = useMemo(() => {
    const selected = new Set(loadedTask?.storageTargetIds ?? []);
    return (targets.data ?? [])
      .filter((target) => target.enabled || selected.has(target.id))
      .map((target) => ({
        value: target.id,
        label: target.enabled ? target.name : `${target.name} (${t('common.disabled')})`,
        type: target.type,
        disabled: !target.enabled,
      }));
  }, [targets.data, loadedTask, t]);

  const replicaOptions = useMemo(
    () =>
      replicationTargetOptions(
        targets.data ?? [],
        storageTargetIds ?? [],
        loadedTask?.replicationTargetIds ?? [],
      ).map((option) => ({
        ...option,
        label: option.disabled ? `${option.label} (${t('common.disabled')})` : option.label,
      })),
    [targets.data, storageTargetIds, loadedTask, t],
  );
  /**
   * Repository tasks cannot have replication targets (the field is cleared and disabled). Before
   * the form is mounted both values are undefined, which counts as "allowed".
   */
  const replicationAllowed = allowsReplication(type, backupMode);
  const upstreamOptions = useMemo(() => upstreamTaskOptions(tasks.data ?? [], taskId), [tasks.data, taskId]);

  /** A target chosen as a primary cannot stay a replication target. */
  const onPrimariesChange = (primaries: number[]) => {
    const current = (form.getFieldValue('replicationTargetIds') as number[] | undefined) ?? [];
    const kept = withoutPrimaries(current, primaries);
    if (kept.length !== current.length) form.setFieldValue('replicationTargetIds', kept);
  };

  const onBackupModeChange = (mode: BackupMode) => {
    if (!allowsReplication('file', mode)) form.setFieldValue('replicationTargetIds', []);
  };

  const save = useMutation({
    mutationFn: (values: TaskFormValues) => {
      const body = bodyFromValues(values, isEdit ? 'edit' : 'create');
      return taskId === null
        ? apiCall(apiRoutes.tasks.create, { body })
        : apiCall(apiRoutes.tasks.update, { params: { id: taskId }, body });
    },
    onSuccess: (task) => {
      void message.success(
        isEdit ? t('tasks.updated', { name: task.name }) : t('tasks.created', { name: task.name }),
      );
      void queryClient.invalidateQueries({ queryKey: ['tasks'] });
      onSaved(task);
    },
    onError: (error) => {
      if (isApiError(error)) {
        const fields = taskFieldErrors(error);
        if (fields.length > 0) {
          form.setFields(fields.map((field) => ({ name: field.name as never, errors: [field.message] })));
          setStep(Math.min(...fields.map((field) => stepOfField(String(field.name[0])))));
        }
      }
      void message.error(errorText(t, error));
    },
  });

  const discover = useMutation({
    mutationFn: () => {
      const values = form.getFieldsValue(true) as TaskFormValues;
      return apiCall(apiRoutes.tasks.discoverDatabases, {
        body: {
          type: values.type === 'postgresql' ? 'postgresql' : 'mysql',
          host: values.dbHost.trim(),
          port: values.dbPort ?? defaultPorts[values.type] ?? 0,
          user: values.dbUser.trim(),
          password: values.dbPassword,
          ...(taskId !== null && values.dbPassword === '' ? { taskId } : {}),
          ...(remoteNodeId !== null ? { nodeId: remoteNodeId } : {}),
        },
        ...(remoteNodeId !== null ? { timeoutMs: NODE_RPC_TIMEOUT_MS } : {}),
      });
    },
    onSuccess: (result) => {
      setDiscovered(result.databases);
      if (result.databases.length === 0) void message.info(t('tasks.form.discoverNone'));
      else void message.success(t('tasks.form.discoverFound', { count: result.databases.length }));
    },
    onError: (error) => void message.error(errorText(t, error)),
  });

  const goTo = async (next: number) => {
    if (next > step) {
      try {
        await form.validateFields(
          (stepFieldNames[step] ?? []).map((name) => [name]),
          { recursive: true },
        );
      } catch {
        return;
      }
    }
    setStep(next);
  };

  const submit = async () => {
    try {
      await form.validateFields({ recursive: true });
    } catch (error) {
      const first = (error as { errorFields?: { name: (string | number)[] }[] }).errorFields?.[0];
      if (first) setStep(stepOfField(String(first.name[0])));
      return;
    }
    save.mutate(form.getFieldsValue(true) as TaskFormValues);
  };

  const onTypeChange = (next: TaskType) => {
    const port = form.getFieldValue('dbPort') as number | null;
    const knownDefaults = Object.values(defaultPorts);
    if (port === null || knownDefaults.includes(port))
      form.setFieldValue('dbPort', defaultPorts[next] ?? null);
    if (next !== 'file') form.setFieldValue('backupMode', 'full');
    setDiscovered([]);
  };

  const loading = isEdit && detail.isPending;
  const lastStep = 2;

  const basics = (
    <>
      <Form.Item
        name="name"
        label={t('tasks.form.name')}
        rules={[
          { required: true, whitespace: true, message: t('tasks.form.nameRequired') },
          { max: 100, message: t('tasks.form.nameTooLong') },
        ]}
      >
        <Input placeholder={t('tasks.form.namePlaceholder')} maxLength={100} data-testid="task-name" />
      </Form.Item>
      <Form.Item name="type" label={t('tasks.form.type')} rules={[{ required: true }]}>
        <Radio.Group
          optionType="button"
          buttonStyle="solid"
          onChange={(event) => onTypeChange(event.target.value as TaskType)}
        >
          {taskTypes.map((value) => (
            <Radio.Button key={value} value={value}>
              <span data-testid={`task-type-${value}`}>{t(`tasks.types.${value}`)}</span>
            </Radio.Button>
          ))}
        </Radio.Group>
      </Form.Item>
      <RunOnFields
        nodes={nodes.data}
        loading={nodes.isPending}
        error={nodes.isError ? nodes.error : null}
        onRetry={() => void nodes.refetch()}
        onChange={() => setDiscovered([])}
      />
      <Form.Item
        name="cronExpr"
        label={t('tasks.form.schedule')}
        rules={[
          {
            validator: (_rule, value: string | undefined) => {
              const text = (value ?? '').trim();
              if (text === '' || text.split(/\s+/).length >= 5) return Promise.resolve();
              return Promise.reject(new Error(t('tasks.cron.fieldsRequired')));
            },
          },
        ]}
      >
        <CronInput testId="task-cron" />
      </Form.Item>
      <Form.Item
        name="enabled"
        label={t('tasks.form.enabled')}
        valuePropName="checked"
        extra={t('tasks.form.enabledHelp')}
      >
        <Switch data-testid="task-enabled" />
      </Form.Item>
    </>
  );

  const fileSource = (
    <>
      <Form.List
        name="sourcePaths"
        rules={[
          {
            validator: (_rule, paths: string[] | undefined) =>
              (paths ?? []).some((path) => path.trim() !== '')
                ? Promise.resolve()
                : Promise.reject(new Error(t('tasks.form.sourcePathsRequired'))),
          },
        ]}
      >
        {(fields, { add, remove }, { errors }) => (
          <Form.Item
            label={t('tasks.form.sourcePaths')}
            required
            extra={
              isPool
                ? t('tasks.form.sourcePathsPoolHelp')
                : t('tasks.form.sourcePathsHelp', { name: placeName })
            }
          >
            {fields.map((field, index) => (
              <Flex key={field.key} gap={8} style={{ marginBottom: 8 }}>
                <Form.Item
                  name={field.name}
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
                    placeholder="/var/www"
                    className="bx-mono"
                    data-testid={`task-source-path-${String(index)}`}
                  />
                </Form.Item>
                <Tooltip
                  title={isPool ? t('tasks.form.browsePool') : t('tasks.form.browseOn', { name: placeName })}
                >
                  <Button
                    icon={<FolderOpenOutlined />}
                    aria-label={t('tasks.form.browse')}
                    disabled={isPool}
                    onClick={() => setPicker({ mode: 'directory', target: index })}
                    data-testid={`task-source-browse-${String(index)}`}
                  />
                </Tooltip>
                <Tooltip title={t('tasks.form.removePath')}>
                  <Button
                    icon={<DeleteOutlined />}
                    aria-label={t('tasks.form.removePath')}
                    disabled={fields.length <= 1}
                    onClick={() => remove(field.name)}
                  />
                </Tooltip>
              </Flex>
            ))}
            <Button
              type="dashed"
              icon={<PlusOutlined />}
              onClick={() => add('')}
              block
              data-testid="task-source-add"
            >
              {t('tasks.form.addPath')}
            </Button>
            <Form.ErrorList errors={errors} />
          </Form.Item>
        )}
      </Form.List>
      <Form.Item
        name="excludePatterns"
        label={t('tasks.form.excludePatterns')}
        extra={t('tasks.form.excludePatternsHelp')}
      >
        <Input.TextArea
          autoSize={{ minRows: 3, maxRows: 8 }}
          placeholder={'*.log\nnode_modules\ncache/'}
          className="bx-mono"
          data-testid="task-excludes"
        />
      </Form.Item>
    </>
  );

  const sqliteSource = (
    <Form.Item label={t('tasks.form.dbPath')} required extra={t('tasks.form.dbPathHelp')}>
      <Flex gap={8}>
        <Form.Item
          name="dbPath"
          noStyle
          rules={[
            { required: true, whitespace: true, message: t('tasks.form.dbPathRequired') },
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
          <Input placeholder="/var/lib/app/data.db" className="bx-mono" data-testid="task-db-path" />
        </Form.Item>
        <Tooltip title={isPool ? t('tasks.form.browsePool') : t('tasks.form.browseOn', { name: placeName })}>
          <Button
            icon={<FolderOpenOutlined />}
            disabled={isPool}
            onClick={() => setPicker({ mode: 'file', target: 'dbPath' })}
            data-testid="task-db-path-browse"
          >
            {t('tasks.form.browse')}
          </Button>
        </Tooltip>
      </Flex>
    </Form.Item>
  );

  const serverSource = (
    <>
      <Row gutter={12}>
        <Col xs={24} sm={16}>
          <Form.Item
            name="dbHost"
            label={t('tasks.form.dbHost')}
            rules={[{ required: true, whitespace: true, message: t('tasks.form.dbHostRequired') }]}
          >
            <Input placeholder="127.0.0.1" data-testid="task-db-host" />
          </Form.Item>
        </Col>
        <Col xs={24} sm={8}>
          <Form.Item
            name="dbPort"
            label={t('tasks.form.dbPort')}
            rules={[{ required: true, message: t('tasks.form.dbPortRequired') }]}
          >
            <InputNumber<number>
              min={1}
              max={65535}
              precision={0}
              placeholder={String(defaultPorts[type] ?? '')}
              style={{ width: '100%' }}
              data-testid="task-db-port"
            />
          </Form.Item>
        </Col>
      </Row>
      <Row gutter={12}>
        <Col xs={24} sm={12}>
          <Form.Item
            name="dbUser"
            label={t('tasks.form.dbUser')}
            rules={[{ required: true, whitespace: true, message: t('tasks.form.dbUserRequired') }]}
          >
            <Input autoComplete="off" data-testid="task-db-user" />
          </Form.Item>
        </Col>
        <Col xs={24} sm={12}>
          <Form.Item
            name="dbPassword"
            label={t('tasks.form.dbPassword')}
            extra={
              isEdit
                ? hasStoredPassword
                  ? t('tasks.form.dbPasswordKeep')
                  : t('tasks.form.dbPasswordNone')
                : t('tasks.form.dbPasswordHelp')
            }
          >
            <Input.Password
              autoComplete="new-password"
              placeholder={isEdit && hasStoredPassword ? t('tasks.form.dbPasswordKeepPlaceholder') : ''}
              data-testid="task-db-password"
            />
          </Form.Item>
        </Col>
      </Row>
      <Form.Item label={t('tasks.form.dbNames')} required extra={t('tasks.form.dbNamesHelp')}>
        <Flex gap={8}>
          <Form.Item
            name="dbNames"
            noStyle
            rules={[{ required: true, type: 'array', min: 1, message: t('tasks.form.dbNamesRequired') }]}
          >
            <Select
              mode="tags"
              tokenSeparators={[',']}
              options={discovered.map((name) => ({ value: name, label: name }))}
              placeholder={type === 'saphana' ? 'SYSTEMDB' : t('tasks.form.dbNamesPlaceholder')}
              style={{ flex: 1 }}
              data-testid="task-db-names"
            />
          </Form.Item>
          {discoverableTypes.includes(type) ? (
            <Tooltip
              title={isPool ? t('tasks.form.discoverPool') : t('tasks.form.discoverOn', { name: placeName })}
            >
              <Button
                icon={<SearchOutlined />}
                disabled={isPool}
                loading={discover.isPending}
                onClick={() => {
                  void form
                    .validateFields([['dbHost'], ['dbPort'], ['dbUser']])
                    .then(() => discover.mutate())
                    .catch(() => undefined);
                }}
                data-testid="task-db-discover"
              >
                {t('tasks.form.discover')}
              </Button>
            </Tooltip>
          ) : null}
        </Flex>
      </Form.Item>
      {discovered.length > 0 ? (
        <Flex gap={6} wrap style={{ marginTop: -12, marginBottom: 16 }} data-testid="task-db-discovered">
          <Typography.Text type="secondary" style={{ fontSize: 13 }}>
            {t('tasks.form.discovered')}
          </Typography.Text>
          {discovered.map((name) => (
            <Tag.CheckableTag
              key={name}
              checked={dbNames.includes(name)}
              style={{ border: `1px solid ${token.colorBorder}` }}
              onChange={(checked) => {
                const current = (form.getFieldValue('dbNames') as string[] | undefined) ?? [];
                form.setFieldValue(
                  'dbNames',
                  checked ? [...current, name] : current.filter((item) => item !== name),
                );
                void form.validateFields([['dbNames']]).catch(() => undefined);
              }}
              data-testid={`task-db-discovered-${name}`}
            >
              {name}
            </Tag.CheckableTag>
          ))}
        </Flex>
      ) : null}
      {type === 'saphana' ? (
        <>
          <Divider titlePlacement="start" plain>
            {t('tasks.form.hanaTitle')}
          </Divider>
          <Row gutter={12}>
            <Col xs={24} sm={12}>
              <Form.Item name="hanaBackupType" label={t('tasks.form.hanaBackupType')}>
                <Radio.Group optionType="button">
                  <Radio.Button value="data">{t('tasks.form.hanaData')}</Radio.Button>
                  <Radio.Button value="log">{t('tasks.form.hanaLog')}</Radio.Button>
                </Radio.Group>
              </Form.Item>
            </Col>
            <Col xs={24} sm={12}>
              <Form.Item name="hanaBackupLevel" label={t('tasks.form.hanaLevel')}>
                <Select
                  disabled={hanaBackupType === 'log'}
                  options={[
                    { value: 'full', label: t('tasks.form.hanaLevelFull') },
                    { value: 'incremental', label: t('tasks.form.hanaLevelIncremental') },
                    { value: 'differential', label: t('tasks.form.hanaLevelDifferential') },
                  ]}
                />
              </Form.Item>
            </Col>
          </Row>
          <Row gutter={12}>
            <Col xs={24} sm={8}>
              <Form.Item name="hanaChannels" label={t('tasks.form.hanaChannels')}>
                <InputNumber<number> min={1} max={32} precision={0} style={{ width: '100%' }} />
              </Form.Item>
            </Col>
            <Col xs={24} sm={8}>
              <Form.Item name="hanaRetries" label={t('tasks.form.hanaRetries')}>
                <InputNumber<number> min={1} max={10} precision={0} style={{ width: '100%' }} />
              </Form.Item>
            </Col>
            <Col xs={24} sm={8}>
              <Form.Item
                name="hanaInstanceNumber"
                label={t('tasks.form.hanaInstance')}
                rules={[{ pattern: /^\d{2}$/, message: t('tasks.form.hanaInstanceInvalid') }]}
              >
                <Input placeholder={t('tasks.form.hanaInstancePlaceholder')} maxLength={2} />
              </Form.Item>
            </Col>
          </Row>
        </>
      ) : null}
    </>
  );

  const numberField = (name: keyof TaskFormValues, label: string, extra?: string, min = 0, max = 100_000) => (
    <Form.Item name={name} label={label} extra={extra}>
      <InputNumber<number>
        min={min}
        max={max}
        precision={0}
        style={{ width: '100%' }}
        data-testid={`task-${name}`}
      />
    </Form.Item>
  );

  const policy = (
    <>
      <Form.Item
        name="storageTargetIds"
        label={t('tasks.form.targets')}
        extra={t('tasks.form.targetsHelp')}
        rules={[{ required: true, type: 'array', min: 1, message: t('tasks.form.targetsRequired') }]}
      >
        <Select
          mode="multiple"
          loading={targets.isPending}
          options={targetOptions}
          showSearch={{ optionFilterProp: 'label' }}
          placeholder={t('tasks.form.targetsPlaceholder')}
          data-testid="task-targets"
          onChange={onPrimariesChange}
          notFoundContent={
            targets.isPending ? null : (
              <Typography.Text type="secondary">{t('tasks.form.noTargets')}</Typography.Text>
            )
          }
        />
      </Form.Item>
      {targets.isError ? (
        <LoadError
          error={targets.error}
          onRetry={() => void targets.refetch()}
          style={{ marginBottom: 16 }}
        />
      ) : null}
      {targets.isSuccess && targetOptions.length === 0 ? (
        <Alert
          type="warning"
          showIcon
          style={{ marginBottom: 16 }}
          title={t('tasks.form.noTargets')}
          description={<Link to="/storage-targets">{t('tasks.form.createTarget')}</Link>}
        />
      ) : null}
      <Form.Item
        name="replicationTargetIds"
        label={t('tasks.form.replicationTargets')}
        extra={
          replicationAllowed
            ? t('tasks.form.replicationTargetsHelp')
            : t('tasks.form.replicationTargetsRepositoryHint')
        }
      >
        <Select
          mode="multiple"
          allowClear
          disabled={!replicationAllowed}
          loading={targets.isPending}
          options={replicaOptions}
          showSearch={{ optionFilterProp: 'label' }}
          placeholder={t('tasks.form.replicationTargetsPlaceholder')}
          data-testid="task-replication-targets"
          notFoundContent={
            targets.isPending ? null : (
              <Typography.Text type="secondary">{t('tasks.form.noReplicationTargets')}</Typography.Text>
            )
          }
        />
      </Form.Item>
      <Form.Item
        name="dependsOnTaskIds"
        label={t('tasks.form.upstreamTasks')}
        extra={t('tasks.form.upstreamTasksHelp')}
      >
        <Select
          mode="multiple"
          allowClear
          loading={tasks.isPending}
          options={upstreamOptions}
          showSearch={{ optionFilterProp: 'label' }}
          placeholder={t('tasks.form.upstreamTasksPlaceholder')}
          data-testid="task-upstream"
          notFoundContent={
            tasks.isPending ? null : (
              <Typography.Text type="secondary">{t('tasks.form.noUpstreamTasks')}</Typography.Text>
            )
          }
        />
      </Form.Item>
      {tasks.isError ? (
        <LoadError error={tasks.error} onRetry={() => void tasks.refetch()} style={{ marginBottom: 16 }} />
      ) : null}
      <Row gutter={12}>
        <Col xs={24} sm={12}>
          <Form.Item name="compression" label={t('tasks.form.compression')}>
            <Radio.Group optionType="button" buttonStyle="solid">
              <Radio.Button value="zstd">
                <span data-testid="task-compression-zstd">zstd</span>
              </Radio.Button>
              <Radio.Button value="gzip">
                <span data-testid="task-compression-gzip">gzip</span>
              </Radio.Button>
              <Radio.Button value="none">
                <span data-testid="task-compression-none">{t('tasks.form.compressionNone')}</span>
              </Radio.Button>
            </Radio.Group>
          </Form.Item>
        </Col>
        <Col xs={24} sm={12}>
          <Form.Item name="encrypt" label={t('tasks.form.encrypt')} valuePropName="checked">
            <Switch data-testid="task-encrypt" checkedChildren={<LockOutlined />} />
          </Form.Item>
        </Col>
      </Row>
      {encrypt ? (
        <Alert
          type="info"
          showIcon
          style={{ marginTop: -8, marginBottom: 16 }}
          title={runOn === 'master' ? t('tasks.form.encryptHelp') : t('tasks.form.encryptRemoteHelp')}
        />
      ) : null}
      {type === 'file' ? (
        <>
          <Form.Item name="backupMode" label={t('tasks.form.backupMode')}>
            <Radio.Group
              orientation="vertical"
              onChange={(event) => onBackupModeChange(event.target.value as BackupMode)}
            >
              {backupModes.map((mode) => (
                <Radio key={mode} value={mode}>
                  <span data-testid={`task-mode-${mode}`}>{t(`tasks.form.modes.${mode}`)}</span>
                  <Typography.Text type="secondary" style={{ display: 'block', fontSize: 13 }}>
                    {t(`tasks.form.modeHelp.${mode}`)}
                  </Typography.Text>
                </Radio>
              ))}
            </Radio.Group>
          </Form.Item>
          {backupMode === 'differential' ? (
            <Row gutter={12}>
              <Col xs={24} sm={12}>
                {numberField(
                  'diffFullIntervalDays',
                  t('tasks.form.diffFullInterval'),
                  t('tasks.form.diffFullIntervalHelp'),
                  1,
                  3650,
                )}
              </Col>
            </Row>
          ) : null}
        </>
      ) : null}
      <Divider titlePlacement="start" plain>
        {t('tasks.form.retentionTitle')}
      </Divider>
      <Row gutter={12}>
        <Col xs={24} sm={12}>
          {numberField('retentionDays', t('tasks.form.retentionDays'), t('tasks.form.zeroUnlimited'))}
        </Col>
        <Col xs={24} sm={12}>
          {numberField('maxBackups', t('tasks.form.maxBackups'), t('tasks.form.zeroUnlimited'))}
        </Col>
      </Row>
      <Typography.Text strong style={{ display: 'block', marginBottom: 8 }}>
        {t('tasks.form.gfsTitle')}
      </Typography.Text>
      <Row gutter={12}>
        <Col xs={12} sm={6}>
          {numberField('keepDaily', t('tasks.form.keepDaily'), undefined, 0, 10_000)}
        </Col>
        <Col xs={12} sm={6}>
          {numberField('keepWeekly', t('tasks.form.keepWeekly'), undefined, 0, 10_000)}
        </Col>
        <Col xs={12} sm={6}>
          {numberField('keepMonthly', t('tasks.form.keepMonthly'), undefined, 0, 10_000)}
        </Col>
        <Col xs={12} sm={6}>
          {numberField('keepYearly', t('tasks.form.keepYearly'), undefined, 0, 10_000)}
        </Col>
      </Row>
      <Typography.Text
        type="secondary"
        style={{ display: 'block', marginTop: -12, marginBottom: 16, fontSize: 13 }}
      >
        {t('tasks.form.gfsHelp')}
      </Typography.Text>
      <Form.Item name="tags" label={t('tasks.form.tags')} extra={t('tasks.form.tagsHelp')}>
        <Select
          mode="tags"
          tokenSeparators={[',']}
          options={(tags.data ?? []).map((tag) => ({ value: tag, label: tag }))}
          placeholder={t('tasks.form.tagsPlaceholder')}
          data-testid="task-tags"
        />
      </Form.Item>
      <Divider titlePlacement="start" plain>
        {t('tasks.form.alertsTitle')}
      </Divider>
      <Row gutter={12}>
        <Col xs={24} sm={12}>
          {numberField('slaHoursRpo', t('tasks.form.slaHoursRpo'), t('tasks.form.slaHoursRpoHelp'))}
        </Col>
        <Col xs={24} sm={12}>
          {numberField(
            'alertOnConsecutiveFails',
            t('tasks.form.alertFails'),
            t('tasks.form.alertFailsHelp'),
            1,
            1000,
          )}
        </Col>
      </Row>
      <Form.Item
        name="maintenanceWindows"
        label={t('tasks.form.windows')}
        extra={
          <div>
            <div>{t('tasks.form.windowsHelp')}</div>
            <Flex gap={4} wrap style={{ marginTop: 6, marginBottom: 12 }}>
              {windowExamples.map((example) => (
                <Tag
                  key={example}
                  className="bx-mono"
                  style={{ cursor: 'pointer', fontSize: 11, marginInlineEnd: 0 }}
                  onClick={() => form.setFieldValue('maintenanceWindows', example)}
                >
                  {example}
                </Tag>
              ))}
            </Flex>
          </div>
        }
      >
        <Input
          placeholder={t('tasks.form.windowsPlaceholder')}
          className="bx-mono"
          maxLength={500}
          data-testid="task-windows"
        />
      </Form.Item>
      <Divider titlePlacement="start" plain>
        {t('tasks.form.verifyTitle')}
      </Divider>
      <Form.Item
        name="verifyEnabled"
        label={t('tasks.form.verifyEnabled')}
        valuePropName="checked"
        extra={t('tasks.form.verifyHelp')}
      >
        <Switch data-testid="task-verify-enabled" />
      </Form.Item>
      {verifyEnabled ? (
        <>
          <Form.Item
            name="verifyCronExpr"
            label={t('tasks.form.verifyCron')}
            rules={[{ required: true, whitespace: true, message: t('tasks.form.verifyCronRequired') }]}
          >
            <CronInput allowEmpty={false} testId="task-verify-cron" />
          </Form.Item>
          <Form.Item name="verifyMode" label={t('tasks.form.verifyMode')}>
            <Radio.Group>
              <Radio value="quick">{t('tasks.form.verifyQuick')}</Radio>
              <Radio value="deep">{t('tasks.form.verifyDeep')}</Radio>
            </Radio.Group>
          </Form.Item>
        </>
      ) : null}
    </>
  );

  const source =
    type === 'file'
      ? fileSource
      : type === 'sqlite'
        ? sqliteSource
        : isServerDatabase(type)
          ? serverSource
          : null;
  const panels = [basics, source, policy];

  return (
    <Drawer
      open={open}
      onClose={onClose}
      size={760}
      destroyOnHidden
      title={isEdit ? t('tasks.editTitle', { name: loadedTask?.name ?? '' }) : t('tasks.createTitle')}
      data-testid="task-form-drawer"
      footer={
        <Flex justify="space-between" gap={8}>
          <Button onClick={onClose}>{t('common.cancel')}</Button>
          <Flex gap={8}>
            {step > 0 ? (
              <Button onClick={() => void goTo(step - 1)} data-testid="task-form-prev">
                {t('tasks.form.previous')}
              </Button>
            ) : null}
            {step < lastStep ? (
              <Button
                type={isEdit ? 'default' : 'primary'}
                onClick={() => void goTo(step + 1)}
                data-testid="task-form-next"
              >
                {t('tasks.form.next')}
              </Button>
            ) : null}
            {isEdit || step === lastStep ? (
              <Button
                type="primary"
                loading={save.isPending}
                onClick={() => void submit()}
                data-testid="task-form-submit"
              >
                {isEdit ? t('common.save') : t('tasks.form.createSubmit')}
              </Button>
            ) : null}
          </Flex>
        </Flex>
      }
    >
      {isEdit && detail.isError ? (
        <LoadError error={detail.error} onRetry={() => void detail.refetch()} />
      ) : null}
      {loading ? <Skeleton active paragraph={{ rows: 8 }} /> : null}
      {/* The form stays mounted while the task loads so its instance is always connected. */}
      <div style={{ display: loading || (isEdit && detail.isError) ? 'none' : 'block' }}>
        <Steps
          current={step}
          size="small"
          onChange={(next) => void goTo(next)}
          style={{ marginBottom: 24 }}
          items={[
            { title: t('tasks.form.stepBasics'), content: t('tasks.form.stepBasicsHint') },
            { title: t('tasks.form.stepSource'), content: t('tasks.form.stepSourceHint') },
            { title: t('tasks.form.stepPolicy'), content: t('tasks.form.stepPolicyHint') },
          ]}
        />
        <Form<TaskFormValues> form={form} layout="vertical" initialValues={defaultTaskValues()}>
          {panels.map((panel, index) => (
            <div
              key={index}
              style={{ display: index === step ? 'block' : 'none' }}
              data-testid={`task-form-step-${String(index)}`}
            >
              {panel}
            </div>
          ))}
        </Form>
      </div>
      {picker ? (
        <DirectoryPicker
          open
          mode={picker.mode}
          source={remoteNodeId}
          subtitle={
            <Tag icon={<CloudServerOutlined />} style={{ marginInlineEnd: 0 }} data-testid="picker-node">
              {placeName}
            </Tag>
          }
          initialPath={
            picker.target === 'dbPath'
              ? (form.getFieldValue('dbPath') as string)
              : (form.getFieldValue(['sourcePaths', picker.target]) as string)
          }
          onClose={() => setPicker(null)}
          onSelect={(path) => {
            if (picker.target === 'dbPath') form.setFieldValue('dbPath', path);
            else form.setFieldValue(['sourcePaths', picker.target], path);
            void form
              .validateFields(picker.target === 'dbPath' ? [['dbPath']] : [['sourcePaths', picker.target]])
              .catch(() => undefined);
          }}
        />
      ) : null}
    </Drawer>
  );
}
