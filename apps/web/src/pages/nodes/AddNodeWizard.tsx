/**
 * "Add node" wizard (SPEC §15.9): (1) one name or a batch of names, (2) deploy options, (3) the
 * generated install commands per node. Nodes are created when leaving step 1, so a name clash is
 * shown on the name; install tokens are issued when leaving step 2 and can be issued again from
 * step 3 ("change options"). Opened for an existing node it starts at step 2.
 */
import { useEffect, useState } from 'react';
import {
  Alert,
  App,
  Button,
  Col,
  Flex,
  Form,
  Input,
  Modal,
  Radio,
  Row,
  Segmented,
  Steps,
  Table,
  Tag,
  Typography,
} from 'antd';
import type { TableColumnsType } from 'antd';
import { CloudServerOutlined, CopyOutlined, ReloadOutlined } from '@ant-design/icons';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useTranslation } from 'react-i18next';
import { apiRoutes, NODE_BATCH_MAX, NODE_NAME_MAX } from '@backupx/contract';
import { apiCall, isApiError } from '../../api/client.ts';
import { queryKeys } from '../../api/queryClient.ts';
import { CodeBlock } from '../../components/CodeBlock.tsx';
import { CopyButton } from '../../components/CopyButton.tsx';
import { copyText } from '../../lib/clipboard.ts';
import { isHttpUrl } from '../storage/validators.ts';
import { ExpiryCountdown, InstallCommandsPanel, ScriptPreview } from './InstallCommands.tsx';
import type { InstallToken } from './InstallCommands.tsx';
import {
  defaultDeployOptions,
  installCommands,
  installTokenBody,
  isProxyUrl,
  isSafeAbsolutePath,
  nodeKeys,
  parseBatchNames,
  ttlChoices,
} from './nodeLogic.ts';
import type { DeployOptions } from './nodeLogic.ts';
import { NodeHealthBadge } from './nodeUi.tsx';
import { serverErrorDetail } from './NodeTokenModal.tsx';

/** An existing node to (re)generate the install command of. */
export interface WizardTarget {
  id: number;
  name: string;
}

interface CreatedNode extends WizardTarget {
  /** The node's long-lived token: only a single create returns it, once. */
  token?: string;
}

interface Issued {
  node: CreatedNode;
  result?: InstallToken;
  error?: unknown;
}

interface NameValues {
  name: string;
  batch: string;
}

/** Parallel install-token requests (the master allows 5 per node per minute, not per console). */
const ISSUE_CONCURRENCY = 4;

async function issueAll(nodes: readonly CreatedNode[], options: DeployOptions): Promise<Issued[]> {
  const body = installTokenBody(options);
  const results: Issued[] = nodes.map((node) => ({ node }));
  let next = 0;
  const worker = async () => {
    while (next < nodes.length) {
      const index = next;
      next += 1;
      const node = nodes[index];
      if (!node) continue;
      try {
        const result = await apiCall(apiRoutes.nodes.createInstallToken, { params: { id: node.id }, body });
        results[index] = { node, result };
      } catch (error) {
        results[index] = { node, error };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(ISSUE_CONCURRENCY, nodes.length) }, worker));
  return results;
}

const ttlLabelKey = {
  300: 'nodes.wizard.ttl5m',
  900: 'nodes.wizard.ttl15m',
  3600: 'nodes.wizard.ttl1h',
  86400: 'nodes.wizard.ttl24h',
} as const;

export function AddNodeWizard({
  open,
  target,
  onClose,
}: {
  open: boolean;
  /** Start at the deploy options of this node instead of creating one. */
  target: WizardTarget | null;
  onClose: () => void;
}) {
  const { t } = useTranslation();
  const { message } = App.useApp();
  const queryClient = useQueryClient();
  const [step, setStep] = useState(target ? 1 : 0);
  const [nameMode, setNameMode] = useState<'single' | 'batch'>('single');
  const [nameForm] = Form.useForm<NameValues>();
  const [optionsForm] = Form.useForm<DeployOptions>();
  const [created, setCreated] = useState<CreatedNode[] | null>(target ? [target] : null);
  const [issued, setIssued] = useState<Issued[]>([]);
  const [usedOptions, setUsedOptions] = useState<DeployOptions | null>(null);
  // Undefined until the forms are mounted.
  const batchText = (Form.useWatch('batch', nameForm) as string | undefined) ?? '';
  const network = Form.useWatch('network', optionsForm) as DeployOptions['network'] | undefined;
  const mode = Form.useWatch('mode', optionsForm) as DeployOptions['mode'] | undefined;
  const parsed = parseBatchNames(batchText);

  const info = useQuery({
    queryKey: queryKeys.systemInfo,
    queryFn: ({ signal }) => apiCall(apiRoutes.system.info, { signal }),
    enabled: open,
  });
  const masterVersion = info.data?.version ?? '';
  // The agent version defaults to the master's, once it is known.
  useEffect(() => {
    if (masterVersion !== '' && (optionsForm.getFieldValue('agentVersion') as string | undefined) === '')
      optionsForm.setFieldValue('agentVersion', masterVersion);
  }, [masterVersion, optionsForm]);

  // Step 3 follows the new nodes closely: they turn online as soon as their agent connects.
  const nodes = useQuery({
    queryKey: nodeKeys.list,
    queryFn: ({ signal }) => apiCall(apiRoutes.nodes.list, { signal }),
    enabled: open && step === 2,
    refetchInterval: 3000,
  });
  const nodeById = new Map((nodes.data ?? []).map((node) => [node.id, node]));

  const create = useMutation({
    mutationFn: async (values: NameValues): Promise<CreatedNode[]> => {
      if (nameMode === 'single') {
        const node = await apiCall(apiRoutes.nodes.create, { body: { name: values.name.trim() } });
        return [node];
      }
      return apiCall(apiRoutes.nodes.batchCreate, { body: { names: parseBatchNames(values.batch).names } });
    },
    onSuccess: (nodesCreated) => {
      setCreated(nodesCreated);
      setStep(1);
      void queryClient.invalidateQueries({ queryKey: nodeKeys.all });
      void message.success(t('nodes.wizard.created', { count: nodesCreated.length }));
    },
    onError: (error) => {
      const field = nameMode === 'single' ? 'name' : 'batch';
      const text = serverErrorDetail(t, error);
      if (isApiError(error) && error.status === 400) nameForm.setFields([{ name: field, errors: [text] }]);
      void message.error(text);
    },
  });

  const generate = useMutation({
    mutationFn: (options: DeployOptions) => issueAll(created ?? [], options),
    onSuccess: (results, options) => {
      const failed = results.filter((item) => item.error !== undefined);
      if (failed.length === results.length && failed[0]) {
        // Nothing was issued: the options are probably wrong, stay on them.
        void message.error(serverErrorDetail(t, failed[0].error));
        return;
      }
      setIssued(results);
      setUsedOptions(options);
      setStep(2);
      if (failed.length > 0) void message.warning(t('nodes.wizard.someFailed', { count: failed.length }));
    },
    onError: (error) => void message.error(serverErrorDetail(t, error)),
  });

  const retry = useMutation({
    mutationFn: async (node: CreatedNode) => {
      if (!usedOptions) throw new Error('no options');
      return (await issueAll([node], usedOptions))[0];
    },
    onSuccess: (item) => {
      if (!item) return;
      setIssued((current) => current.map((entry) => (entry.node.id === item.node.id ? item : entry)));
      if (item.error !== undefined) void message.error(serverErrorDetail(t, item.error));
    },
  });

  const next = async () => {
    if (step === 0) {
      try {
        const values = await nameForm.validateFields();
        create.mutate(values);
      } catch {
        // The form shows what is wrong.
      }
    } else if (step === 1) {
      try {
        await optionsForm.validateFields();
        generate.mutate(optionsForm.getFieldsValue(true) as DeployOptions);
      } catch {
        // The form shows what is wrong.
      }
    }
  };

  const singleCreated = created?.length === 1 && created[0]?.token !== undefined ? created[0] : null;
  const isBatch = (created?.length ?? 0) > 1 || (created === null && nameMode === 'batch');

  const nameStep = (
    <Form<NameValues> form={nameForm} layout="vertical" initialValues={{ name: '', batch: '' }}>
      <Form.Item label={t('nodes.wizard.howMany')}>
        <Segmented<'single' | 'batch'>
          value={nameMode}
          onChange={setNameMode}
          options={[
            {
              value: 'single',
              label: <span data-testid="node-wizard-mode-single">{t('nodes.wizard.single')}</span>,
            },
            {
              value: 'batch',
              label: <span data-testid="node-wizard-mode-batch">{t('nodes.wizard.batch')}</span>,
            },
          ]}
        />
      </Form.Item>
      {nameMode === 'single' ? (
        <Form.Item
          name="name"
          label={t('nodes.form.name')}
          extra={t('nodes.wizard.nameHelp')}
          rules={[
            { required: true, whitespace: true, message: t('nodes.form.nameRequired') },
            { max: NODE_NAME_MAX, message: t('nodes.form.nameTooLong', { max: NODE_NAME_MAX }) },
          ]}
        >
          <Input
            placeholder={t('nodes.wizard.namePlaceholder')}
            maxLength={NODE_NAME_MAX}
            autoFocus
            onPressEnter={() => void next()}
            data-testid="node-wizard-name"
          />
        </Form.Item>
      ) : (
        <Form.Item
          name="batch"
          label={t('nodes.wizard.batchNames')}
          extra={
            <Flex justify="space-between" gap={8} wrap>
              <span>{t('nodes.wizard.batchHelp', { max: NODE_BATCH_MAX })}</span>
              <Typography.Text
                type={parsed.tooMany ? 'danger' : 'secondary'}
                data-testid="node-wizard-count"
                data-count={parsed.names.length}
              >
                {t('nodes.wizard.batchCount', { count: parsed.names.length, max: NODE_BATCH_MAX })}
              </Typography.Text>
            </Flex>
          }
          rules={[
            {
              validator: (_rule, value: string | undefined) => {
                const result = parseBatchNames(value ?? '');
                if (result.names.length === 0) return Promise.reject(new Error(t('nodes.wizard.batchEmpty')));
                if (result.tooMany)
                  return Promise.reject(new Error(t('nodes.wizard.batchTooMany', { max: NODE_BATCH_MAX })));
                if (result.tooLong.length > 0)
                  return Promise.reject(new Error(t('nodes.form.nameTooLong', { max: NODE_NAME_MAX })));
                if (result.duplicates.length > 0)
                  return Promise.reject(
                    new Error(t('nodes.wizard.batchDuplicates', { names: result.duplicates.join(', ') })),
                  );
                return Promise.resolve();
              },
            },
          ]}
        >
          <Input.TextArea
            autoSize={{ minRows: 6, maxRows: 14 }}
            placeholder={'web-01\nweb-02\ndb-01'}
            className="bx-mono"
            data-testid="node-wizard-batch"
          />
        </Form.Item>
      )}
    </Form>
  );

  const recommended = (
    <Tag color="green" style={{ marginInlineStart: 6, marginInlineEnd: 0 }}>
      {t('nodes.wizard.recommended')}
    </Tag>
  );

  const optionsStep = (
    <Form<DeployOptions>
      form={optionsForm}
      layout="vertical"
      initialValues={defaultDeployOptions(masterVersion)}
    >
      {created ? (
        <Flex gap={6} wrap align="center" style={{ marginBottom: 16 }} data-testid="node-wizard-targets">
          <Typography.Text type="secondary">
            {t('nodes.wizard.forNodes', { count: created.length })}
          </Typography.Text>
          {created.slice(0, 12).map((node) => (
            <Tag key={node.id} icon={<CloudServerOutlined />} style={{ marginInlineEnd: 0 }}>
              {node.name}
            </Tag>
          ))}
          {created.length > 12 ? <Tag>+{created.length - 12}</Tag> : null}
        </Flex>
      ) : null}
      <Form.Item
        name="mode"
        label={t('nodes.wizard.mode')}
        extra={mode ? t(`nodes.wizard.modeHelp.${mode}`) : null}
      >
        <Radio.Group optionType="button" buttonStyle="solid">
          <Radio.Button value="systemd">
            <span data-testid="node-wizard-install-systemd">systemd · {t('nodes.wizard.recommended')}</span>
          </Radio.Button>
          <Radio.Button value="docker">
            <span data-testid="node-wizard-install-docker">Docker</span>
          </Radio.Button>
          <Radio.Button value="foreground">
            <span data-testid="node-wizard-install-foreground">{t('nodes.wizard.foreground')}</span>
          </Radio.Button>
        </Radio.Group>
      </Form.Item>
      <Row gutter={16}>
        <Col xs={24} md={12}>
          <Form.Item name="arch" label={t('nodes.wizard.arch')}>
            <Radio.Group optionType="button" buttonStyle="solid">
              <Radio.Button value="auto">{t('nodes.wizard.archAuto')}</Radio.Button>
              <Radio.Button value="amd64">amd64</Radio.Button>
              <Radio.Button value="arm64">arm64</Radio.Button>
            </Radio.Group>
          </Form.Item>
        </Col>
        <Col xs={24} md={12}>
          <Form.Item
            name="agentVersion"
            label={t('nodes.wizard.agentVersion')}
            extra={masterVersion ? t('nodes.wizard.agentVersionHelp', { version: masterVersion }) : undefined}
            rules={[
              { required: true, whitespace: true, message: t('nodes.wizard.agentVersionRequired') },
              { pattern: /^[0-9A-Za-z.+_-]{1,64}$/, message: t('nodes.wizard.agentVersionInvalid') },
            ]}
          >
            <Input className="bx-mono" maxLength={64} data-testid="node-wizard-version" />
          </Form.Item>
        </Col>
      </Row>
      <Form.Item name="ttlSeconds" label={t('nodes.wizard.ttl')} extra={t('nodes.wizard.ttlHelp')}>
        <Radio.Group optionType="button" buttonStyle="solid">
          {ttlChoices.map((seconds) => (
            <Radio.Button key={seconds} value={seconds}>
              <span data-testid={`node-wizard-ttl-${String(seconds)}`}>
                {t(ttlLabelKey[seconds])}
                {seconds === 900 ? ` · ${t('nodes.wizard.recommended')}` : ''}
              </span>
            </Radio.Button>
          ))}
        </Radio.Group>
      </Form.Item>
      <Form.Item
        name="downloadSrc"
        label={t('nodes.wizard.downloadSrc')}
        extra={t('nodes.wizard.downloadSrcHelp')}
      >
        <Radio.Group>
          <Radio value="master">
            {t('nodes.wizard.srcMaster')}
            {recommended}
          </Radio>
          <Radio value="github">GitHub</Radio>
          <Radio value="ghproxy">ghproxy</Radio>
        </Radio.Group>
      </Form.Item>
      <Form.Item name="network" label={t('nodes.wizard.network')}>
        <Radio.Group>
          <Radio value="direct">
            <span data-testid="node-wizard-network-direct">{t('nodes.wizard.networkDirect')}</span>
          </Radio>
          <Radio value="proxy">
            <span data-testid="node-wizard-network-proxy">{t('nodes.wizard.networkProxy')}</span>
          </Radio>
        </Radio.Group>
      </Form.Item>
      {network === 'proxy' ? (
        <div data-testid="node-wizard-proxy-fields">
          <Form.Item
            name="agentMasterUrl"
            label={t('nodes.wizard.agentMasterUrl')}
            extra={t('nodes.wizard.agentMasterUrlHelp')}
            rules={[
              {
                validator: (_rule, value: string | undefined) =>
                  (value ?? '').trim() === '' || isHttpUrl(value ?? '')
                    ? Promise.resolve()
                    : Promise.reject(new Error(t('nodes.wizard.urlInvalid'))),
              },
            ]}
          >
            <Input
              className="bx-mono"
              placeholder="https://backupx.example.com"
              data-testid="node-wizard-master-url"
            />
          </Form.Item>
          <Row gutter={16}>
            <Col xs={24} md={12}>
              <Form.Item
                name="proxyUrl"
                label={t('nodes.wizard.proxyUrl')}
                extra={t('nodes.wizard.proxyUrlHelp')}
                rules={[
                  {
                    validator: (_rule, value: string | undefined) =>
                      (value ?? '').trim() === '' || isProxyUrl(value ?? '')
                        ? Promise.resolve()
                        : Promise.reject(new Error(t('nodes.wizard.proxyInvalid'))),
                  },
                ]}
              >
                <Input
                  className="bx-mono"
                  placeholder="http://proxy.lan:3128"
                  data-testid="node-wizard-proxy-url"
                />
              </Form.Item>
            </Col>
            <Col xs={24} md={12}>
              <Form.Item
                name="caCertFile"
                label={t('nodes.wizard.caCertFile')}
                extra={t('nodes.wizard.caCertFileHelp')}
                rules={[
                  {
                    validator: (_rule, value: string | undefined) =>
                      (value ?? '').trim() === '' || isSafeAbsolutePath(value ?? '')
                        ? Promise.resolve()
                        : Promise.reject(new Error(t('nodes.wizard.caInvalid'))),
                  },
                ]}
              >
                <Input
                  className="bx-mono"
                  placeholder="/etc/ssl/certs/corp-ca.pem"
                  data-testid="node-wizard-ca"
                />
              </Form.Item>
            </Col>
          </Row>
        </div>
      ) : null}
    </Form>
  );

  const statusOf = (id: number) => {
    const node = nodeById.get(id);
    return node ? <NodeHealthBadge node={node} testId={`node-wizard-health-${String(id)}`} /> : null;
  };

  const copyAll = async () => {
    const text = issued
      .filter((item) => item.result)
      .map((item) => `# ${item.node.name}\n${item.result ? installCommands(item.result).url : ''}`)
      .join('\n\n');
    if (await copyText(text)) void message.success(t('common.copied'));
    else void message.warning(t('common.copyFailed'));
  };

  const batchColumns: TableColumnsType<Issued> = [
    {
      title: t('nodes.columns.name'),
      key: 'name',
      render: (_value, item) => <Typography.Text strong>{item.node.name}</Typography.Text>,
    },
    { title: t('nodes.columns.health'), key: 'health', render: (_value, item) => statusOf(item.node.id) },
    {
      title: t('nodes.install.expiry'),
      key: 'expiry',
      render: (_value, item) =>
        item.result ? (
          <ExpiryCountdown
            expiresAt={item.result.expiresAt}
            testId={`install-countdown-${String(item.node.id)}`}
          />
        ) : (
          <Typography.Text type="danger" style={{ fontSize: 13 }}>
            {serverErrorDetail(t, item.error)}
          </Typography.Text>
        ),
    },
    {
      title: t('common.actions'),
      key: 'actions',
      render: (_value, item) =>
        item.result ? (
          <Flex gap={4} wrap>
            <CopyButton
              size="small"
              text={installCommands(item.result).url}
              label={t('nodes.install.copyUrl')}
              data-testid={`install-row-copy-${String(item.node.id)}`}
            />
            <CopyButton
              size="small"
              text={installCommands(item.result).fallback}
              label={t('nodes.install.copyFallback')}
            />
            <CopyButton
              size="small"
              text={installCommands(item.result).embedded}
              label={t('nodes.install.copyEmbedded')}
            />
          </Flex>
        ) : (
          <Button
            size="small"
            icon={<ReloadOutlined />}
            loading={retry.isPending && retry.variables.id === item.node.id}
            onClick={() => retry.mutate(item.node)}
          >
            {t('common.retry')}
          </Button>
        ),
    },
  ];

  const firstIssued = issued.find((item) => item.result);
  const commandsStep = (
    <div data-testid="node-wizard-commands">
      <Alert
        type="info"
        showIcon
        title={t('nodes.wizard.runHint', { count: issued.length })}
        description={t('nodes.wizard.offlineUntil')}
        style={{ marginBottom: 16 }}
      />
      {singleCreated ? (
        <div style={{ marginBottom: 20 }} data-testid="node-wizard-token-section">
          <Flex align="center" gap={8} style={{ marginBottom: 8 }}>
            <Typography.Text strong>{t('nodes.wizard.tokenTitle')}</Typography.Text>
            <Tag color="warning" style={{ marginInlineEnd: 0 }}>
              {t('nodes.token.shownOnce')}
            </Tag>
          </Flex>
          <CodeBlock
            value={singleCreated.token ?? ''}
            testId="node-wizard-token"
            actions={
              <CopyButton
                size="small"
                text={singleCreated.token ?? ''}
                label={t('common.copy')}
                data-testid="node-wizard-token-copy"
              />
            }
          />
          <Typography.Text type="secondary" style={{ display: 'block', fontSize: 12, marginTop: 6 }}>
            {t('nodes.wizard.tokenHelp')}
          </Typography.Text>
        </div>
      ) : null}
      {issued.length === 1 && firstIssued?.result && usedOptions ? (
        <>
          <Flex align="center" gap={8} style={{ marginBottom: 12 }}>
            <CloudServerOutlined />
            <Typography.Text strong>{firstIssued.node.name}</Typography.Text>
            {statusOf(firstIssued.node.id)}
          </Flex>
          <InstallCommandsPanel
            nodeId={firstIssued.node.id}
            result={firstIssued.result}
            options={usedOptions}
          />
        </>
      ) : (
        <>
          <Flex justify="space-between" align="center" style={{ marginBottom: 12 }}>
            <Typography.Text type="secondary">
              {t('nodes.wizard.batchIssued', {
                count: issued.filter((item) => item.result).length,
                total: issued.length,
              })}
            </Typography.Text>
            <Button icon={<CopyOutlined />} onClick={() => void copyAll()} data-testid="node-wizard-copy-all">
              {t('nodes.install.copyAll')}
            </Button>
          </Flex>
          <Table<Issued>
            rowKey={(item) => item.node.id}
            size="small"
            columns={batchColumns}
            dataSource={issued}
            pagination={false}
            scroll={{ y: 360 }}
            expandable={{
              rowExpandable: (item) => item.result !== undefined,
              expandedRowRender: (item) =>
                item.result && usedOptions ? (
                  <InstallCommandsPanel
                    nodeId={item.node.id}
                    result={item.result}
                    options={usedOptions}
                    showPreview={false}
                  />
                ) : null,
            }}
            onRow={(item) => ({ 'data-testid': `install-row-${String(item.node.id)}` }) as never}
          />
          {firstIssued && usedOptions ? (
            <div style={{ marginTop: 16 }}>
              <Typography.Text strong style={{ display: 'block', marginBottom: 8 }}>
                {t('nodes.install.previewTitle')}
              </Typography.Text>
              <ScriptPreview nodeId={firstIssued.node.id} options={usedOptions} />
            </div>
          ) : null}
        </>
      )}
    </div>
  );

  const panels = [nameStep, optionsStep, commandsStep];
  const nextLabel =
    step === 0
      ? nameMode === 'single'
        ? t('nodes.wizard.createOne')
        : t('nodes.wizard.createMany', { count: parsed.names.length })
      : t('nodes.wizard.generate');

  return (
    <Modal
      open={open}
      onCancel={onClose}
      width={isBatch && step === 2 ? 1000 : 860}
      mask={{ closable: false }}
      destroyOnHidden
      title={target ? t('nodes.wizard.titleFor', { name: target.name }) : t('nodes.wizard.title')}
      data-testid="node-wizard"
      footer={
        <Flex justify="space-between" gap={8}>
          <Button onClick={onClose} data-testid="node-wizard-cancel">
            {step === 2 ? t('common.close') : t('common.cancel')}
          </Button>
          <Flex gap={8}>
            {step === 2 ? (
              <>
                <Button onClick={() => setStep(1)} data-testid="node-wizard-change">
                  {t('nodes.wizard.changeOptions')}
                </Button>
                <Button type="primary" onClick={onClose} data-testid="node-wizard-done">
                  {t('nodes.wizard.done')}
                </Button>
              </>
            ) : (
              <Button
                type="primary"
                loading={create.isPending || generate.isPending}
                disabled={step === 0 && nameMode === 'batch' && parsed.tooMany}
                onClick={() => void next()}
                data-testid="node-wizard-next"
              >
                {nextLabel}
              </Button>
            )}
          </Flex>
        </Flex>
      }
    >
      <Steps
        current={step}
        size="small"
        style={{ marginBottom: 24 }}
        items={[
          { title: t('nodes.wizard.stepName'), content: t('nodes.wizard.stepNameHint') },
          { title: t('nodes.wizard.stepOptions'), content: t('nodes.wizard.stepOptionsHint') },
          { title: t('nodes.wizard.stepCommands'), content: t('nodes.wizard.stepCommandsHint') },
        ]}
      />
      {panels.map((panel, index) => (
        <div
          key={index}
          style={{ display: index === step ? 'block' : 'none' }}
          data-testid={`node-wizard-step-${String(index)}`}
        >
          {panel}
        </div>
      ))}
    </Modal>
  );
}
