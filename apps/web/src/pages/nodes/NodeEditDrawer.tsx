/** Edits a node: name, labels (node pools), concurrency and bandwidth limit (SPEC §11.2). */
import { useEffect } from 'react';
import { App, Button, Drawer, Flex, Form, Input, InputNumber, Select, Tag, Typography } from 'antd';
import { useMutation, useQueryClient } from '@tanstack/react-query';
import { useTranslation } from 'react-i18next';
import { apiRoutes, bandwidthLimitSchema, NODE_LABELS_MAX, NODE_NAME_MAX } from '@backupx/contract';
import type { NodeSummary } from '@backupx/contract';
import { apiCall } from '../../api/client.ts';
import { errorText } from '../../lib/i18n-helpers.ts';
import { useFieldErrors } from '../../lib/useFieldErrors.ts';
import { nodeKeys, nodeLabels, poolLabels } from './nodeLogic.ts';

interface EditValues {
  name: string;
  labels: string[];
  maxConcurrent: number | null;
  bandwidthLimit: string;
}

const bandwidthExamples = ['10M', '512k', '1M:500k', '0'];

export function NodeEditDrawer({
  node,
  nodes,
  onClose,
}: {
  /** The node being edited; null = closed. */
  node: NodeSummary | null;
  /** All nodes, for the labels already in use. */
  nodes: readonly NodeSummary[];
  onClose: () => void;
}) {
  const { t } = useTranslation();
  const { message } = App.useApp();
  const queryClient = useQueryClient();
  const [form] = Form.useForm<EditValues>();
  const applyFieldErrors = useFieldErrors(form);

  // The drawer keeps its form mounted: load the node's values on every open.
  useEffect(() => {
    if (!node) return;
    form.resetFields();
    form.setFieldsValue({
      name: node.name,
      labels: nodeLabels(node),
      maxConcurrent: node.maxConcurrent,
      bandwidthLimit: node.bandwidthLimit,
    });
  }, [node, form]);

  const save = useMutation({
    mutationFn: (values: EditValues) => {
      if (!node) throw new Error('no node');
      return apiCall(apiRoutes.nodes.update, {
        params: { id: node.id },
        body: {
          name: values.name.trim(),
          labels: values.labels
            .map((label) => label.trim())
            .filter((label) => label !== '')
            .join(','),
          maxConcurrent: values.maxConcurrent ?? 0,
          bandwidthLimit: values.bandwidthLimit.trim(),
        },
      });
    },
    onSuccess: (saved) => {
      void message.success(t('nodes.updated', { name: saved.name }));
      void queryClient.invalidateQueries({ queryKey: nodeKeys.all });
      onClose();
    },
    onError: (error) => {
      applyFieldErrors(error);
      void message.error(errorText(t, error));
    },
  });

  return (
    <Drawer
      open={node !== null}
      onClose={onClose}
      title={node ? t('nodes.editTitle', { name: node.name }) : ''}
      size={480}
      forceRender
      afterOpenChange={(open) => {
        if (!open) save.reset();
      }}
      data-testid="node-edit-drawer"
      footer={
        <Flex justify="flex-end" gap={8}>
          <Button onClick={onClose}>{t('common.cancel')}</Button>
          <Button
            type="primary"
            loading={save.isPending}
            onClick={() => form.submit()}
            data-testid="node-edit-submit"
          >
            {t('common.save')}
          </Button>
        </Flex>
      }
    >
      <Form<EditValues>
        form={form}
        layout="vertical"
        initialValues={{ name: '', labels: [], maxConcurrent: 0, bandwidthLimit: '' }}
        onFinish={(values) => save.mutate(values)}
      >
        <Form.Item
          name="name"
          label={t('nodes.form.name')}
          rules={[
            { required: true, whitespace: true, message: t('nodes.form.nameRequired') },
            { max: NODE_NAME_MAX, message: t('nodes.form.nameTooLong', { max: NODE_NAME_MAX }) },
          ]}
        >
          <Input maxLength={NODE_NAME_MAX} data-testid="node-edit-name" />
        </Form.Item>
        <Form.Item
          name="labels"
          label={t('nodes.form.labels')}
          extra={t('nodes.form.labelsHelp')}
          rules={[
            {
              validator: (_rule, value: string[] | undefined) =>
                (value ?? []).join(',').length <= NODE_LABELS_MAX
                  ? Promise.resolve()
                  : Promise.reject(new Error(t('nodes.form.labelsTooLong', { max: NODE_LABELS_MAX }))),
            },
            {
              validator: (_rule, value: string[] | undefined) =>
                (value ?? []).some((label) => label.includes(','))
                  ? Promise.reject(new Error(t('nodes.form.labelsComma')))
                  : Promise.resolve(),
            },
          ]}
        >
          <Select
            mode="tags"
            tokenSeparators={[',']}
            options={poolLabels(nodes).map((label) => ({ value: label, label }))}
            placeholder={t('nodes.form.labelsPlaceholder')}
            data-testid="node-edit-labels"
          />
        </Form.Item>
        <Form.Item
          name="maxConcurrent"
          label={t('nodes.form.maxConcurrent')}
          extra={t('nodes.form.maxConcurrentHelp')}
        >
          <InputNumber<number>
            min={0}
            max={1000}
            precision={0}
            style={{ width: 160 }}
            data-testid="node-edit-max"
          />
        </Form.Item>
        <Form.Item
          name="bandwidthLimit"
          label={t('nodes.form.bandwidth')}
          extra={
            <div>
              <div>{t('nodes.form.bandwidthHelp')}</div>
              <Flex gap={4} wrap style={{ marginTop: 6, marginBottom: 8 }}>
                {bandwidthExamples.map((example) => (
                  <Tag
                    key={example}
                    className="bx-mono"
                    style={{ cursor: 'pointer', fontSize: 11, marginInlineEnd: 0 }}
                    onClick={() => form.setFieldValue('bandwidthLimit', example)}
                  >
                    {example}
                  </Tag>
                ))}
              </Flex>
            </div>
          }
          rules={[
            {
              validator: (_rule, value: string | undefined) =>
                bandwidthLimitSchema.safeParse(value ?? '').success
                  ? Promise.resolve()
                  : Promise.reject(new Error(t('nodes.form.bandwidthInvalid'))),
            },
          ]}
        >
          <Input
            className="bx-mono"
            placeholder={t('nodes.form.bandwidthPlaceholder')}
            maxLength={32}
            data-testid="node-edit-bandwidth"
          />
        </Form.Item>
        {node?.isLocal ? (
          <Typography.Text type="secondary" style={{ fontSize: 13 }}>
            {t('nodes.form.localNote')}
          </Typography.Text>
        ) : null}
      </Form>
    </Drawer>
  );
}
