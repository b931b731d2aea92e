/**
 * The generated install commands of one node (SPEC §11.6, §15.9 step 3): the URL command, its
 * fallback, the embedded variant that carries the node token, the compose variant in Docker mode,
 * the remaining lifetime and a preview of the script.
 */
import { Alert, Collapse, Flex, Spin, Tag, Tooltip, Typography } from 'antd';
import { ClockCircleOutlined, ExclamationCircleOutlined } from '@ant-design/icons';
import { useQuery } from '@tanstack/react-query';
import { useTranslation } from 'react-i18next';
import { apiRoutes } from '@backupx/contract';
import type { RouteResponse } from '@backupx/contract';
import { apiText } from '../../api/client.ts';
import { CodeBlock } from '../../components/CodeBlock.tsx';
import { CopyButton } from '../../components/CopyButton.tsx';
import { LoadError } from '../../components/LoadError.tsx';
import {
  formatCountdown,
  INSTALL_SCRIPT_MARKER,
  installCommands,
  NODE_RPC_TIMEOUT_MS,
  previewQuery,
  remainingSeconds,
} from './nodeLogic.ts';
import type { DeployOptions } from './nodeLogic.ts';
import { useNow } from './nodeUi.tsx';

export type InstallToken = RouteResponse<typeof apiRoutes.nodes.createInstallToken>;

/** "Expires in 14:05", red once the one-time URL is no longer valid. */
export function ExpiryCountdown({ expiresAt, testId }: { expiresAt: string; testId?: string }) {
  const { t } = useTranslation();
  const now = useNow(1000);
  const left = remainingSeconds(expiresAt, now);
  return left > 0 ? (
    <Tag
      icon={<ClockCircleOutlined />}
      color="blue"
      style={{ marginInlineEnd: 0 }}
      data-testid={testId}
      data-expired="false"
    >
      {t('nodes.install.expiresIn', { time: formatCountdown(left) })}
    </Tag>
  ) : (
    <Tooltip title={t('nodes.install.expiredHelp')}>
      <Tag
        icon={<ExclamationCircleOutlined />}
        color="error"
        style={{ marginInlineEnd: 0 }}
        data-testid={testId}
        data-expired="true"
      >
        {t('nodes.install.expired')}
      </Tag>
    </Tooltip>
  );
}

/** A command with its copy button. */
function Command({ value, testId }: { value: string; testId: string }) {
  const { t } = useTranslation();
  return (
    <CodeBlock
      value={value}
      testId={testId}
      maxHeight={120}
      actions={
        <CopyButton text={value} size="small" label={t('common.copy')} data-testid={`${testId}-copy`} />
      }
    />
  );
}

/** The script the URL command would download, with the token replaced by `<AGENT_TOKEN>`. */
export function ScriptPreview({ nodeId, options }: { nodeId: number; options: DeployOptions }) {
  const { t } = useTranslation();
  const query = previewQuery(options);
  const preview = useQuery({
    queryKey: ['nodes', 'install-preview', nodeId, query],
    queryFn: ({ signal }) =>
      apiText(apiRoutes.nodes.installScriptPreview, {
        params: { id: nodeId },
        query,
        signal,
        timeoutMs: NODE_RPC_TIMEOUT_MS,
      }),
    staleTime: 5 * 60_000,
    retry: false,
  });
  if (preview.isPending) return <Spin size="small" />;
  if (preview.isError) return <LoadError error={preview.error} onRetry={() => void preview.refetch()} />;
  return (
    <>
      {preview.data.includes(INSTALL_SCRIPT_MARKER) ? null : (
        <Alert
          type="warning"
          showIcon
          title={t('nodes.install.previewNoMarker')}
          style={{ marginBottom: 8 }}
        />
      )}
      <CodeBlock
        value={preview.data}
        testId={`install-script-preview-${String(nodeId)}`}
        preformatted
        maxHeight={360}
        fontSize={12}
        actions={<CopyButton text={preview.data} size="small" />}
      />
    </>
  );
}

/** Every way to install the agent of one node. */
export function InstallCommandsPanel({
  nodeId,
  result,
  options,
  showPreview = true,
}: {
  nodeId: number;
  result: InstallToken;
  options: DeployOptions;
  showPreview?: boolean;
}) {
  const { t } = useTranslation();
  const commands = installCommands(result);
  const id = String(nodeId);
  return (
    <div data-testid={`install-commands-${id}`}>
      <Flex justify="space-between" align="center" gap={8} wrap style={{ marginBottom: 8 }}>
        <Typography.Text strong>{t('nodes.install.urlTitle')}</Typography.Text>
        <ExpiryCountdown expiresAt={result.expiresAt} testId={`install-countdown-${id}`} />
      </Flex>
      <Command value={commands.url} testId={`install-command-url-${id}`} />
      <Typography.Text type="secondary" style={{ display: 'block', fontSize: 12, marginTop: 6 }}>
        {t('nodes.install.urlHelp')}
      </Typography.Text>
      <Collapse
        ghost
        size="small"
        style={{ marginTop: 8 }}
        items={[
          {
            key: 'fallback',
            label: t('nodes.install.fallbackTitle'),
            forceRender: true,
            children: (
              <>
                <Typography.Paragraph type="secondary" style={{ fontSize: 13 }}>
                  {t('nodes.install.fallbackHelp')}
                </Typography.Paragraph>
                <Command value={commands.fallback} testId={`install-command-fallback-${id}`} />
              </>
            ),
          },
          {
            key: 'embedded',
            label: t('nodes.install.embeddedTitle'),
            forceRender: true,
            children: (
              <>
                <Alert
                  type="warning"
                  showIcon
                  title={t('nodes.install.embeddedWarning')}
                  style={{ marginBottom: 8 }}
                />
                <Typography.Paragraph type="secondary" style={{ fontSize: 13 }}>
                  {t('nodes.install.embeddedHelp')}
                </Typography.Paragraph>
                <Command value={commands.embedded} testId={`install-command-embedded-${id}`} />
              </>
            ),
          },
          ...(commands.compose
            ? [
                {
                  key: 'compose',
                  label: t('nodes.install.composeTitle'),
                  forceRender: true,
                  children: (
                    <>
                      <Typography.Paragraph type="secondary" style={{ fontSize: 13 }}>
                        {t('nodes.install.composeHelp')}
                      </Typography.Paragraph>
                      <Command value={commands.compose} testId={`install-command-compose-${id}`} />
                    </>
                  ),
                },
              ]
            : []),
          ...(showPreview
            ? [
                {
                  key: 'preview',
                  label: t('nodes.install.previewTitle'),
                  children: <ScriptPreview nodeId={nodeId} options={options} />,
                },
              ]
            : []),
        ]}
      />
    </div>
  );
}
