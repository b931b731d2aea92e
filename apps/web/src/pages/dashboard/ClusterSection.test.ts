import { describe, expect, it } from 'vitest';
import { createElement } from 'react';
import { renderToString } from 'react-dom/server';
import { MemoryRouter } from 'react-router';
import type { ClusterOverview, NodePerformance } from '@backupx/contract';
import i18next from '../../i18n/index.ts';
import { ClusterSection } from './ClusterSection.tsx';

const cluster: ClusterOverview = {
  masterVersion: '1.4.0',
  totalNodes: 3,
  onlineNodes: 2,
  offlineNodes: 1,
  outdatedAgents: 1,
  nodes: [
    {
      id: 1,
      name: 'master-box',
      hostname: 'vm',
      status: 'online',
      isLocal: true,
      agentVersion: '1.4.0',
      versionStatus: 'current',
      lastSeen: '2026-01-02T03:04:05.000Z',
      taskCount: 2,
    },
    {
      id: 2,
      name: 'web-01',
      hostname: 'web01.example',
      status: 'online',
      isLocal: false,
      agentVersion: '1.3.9',
      versionStatus: 'outdated',
      lastSeen: '2026-01-02T03:04:00.000Z',
      taskCount: 1,
    },
    {
      id: 3,
      name: 'db-eu',
      hostname: '',
      status: 'offline',
      isLocal: false,
      agentVersion: '',
      versionStatus: 'unknown',
      lastSeen: '2026-01-01T00:00:00.000Z',
      taskCount: 0,
    },
  ],
};

const performance: NodePerformance[] = [
  {
    nodeId: 1,
    nodeName: 'master-box',
    isLocal: true,
    totalRuns: 10,
    successRuns: 10,
    failedRuns: 0,
    successRate: 100,
    totalBytes: 2048,
    avgDurationSecs: 3.5,
  },
  {
    nodeId: 2,
    nodeName: 'web-01',
    isLocal: false,
    totalRuns: 4,
    successRuns: 3,
    failedRuns: 1,
    successRate: 75,
    totalBytes: 1024,
    avgDurationSecs: 61,
  },
  {
    nodeId: 3,
    nodeName: 'db-eu',
    isLocal: false,
    totalRuns: 0,
    successRuns: 0,
    failedRuns: 0,
    successRate: 0,
    totalBytes: 0,
    avgDurationSecs: 0,
  },
  {
    nodeId: 8,
    nodeName: 'Node 8',
    isLocal: false,
    totalRuns: 1,
    successRuns: 0,
    failedRuns: 1,
    successRate: 0,
    totalBytes: 0,
    avgDurationSecs: 0,
  },
];

const render = async (language: string) => {
  await i18next.changeLanguage(language);
  return renderToString(
    createElement(
      MemoryRouter,
      null,
      createElement(ClusterSection, {
        cluster,
        performance,
        clusterLoading: false,
        performanceLoading: false,
        error: null,
        onRetry: () => undefined,
        now: Date.parse('2026-01-02T03:05:05.000Z'),
        days: 30,
      }),
    ),
  );
};

/** The text directly inside the element carrying `data-testid="<id>"`. */
const ownText = (html: string, id: string) => new RegExp(`data-testid="${id}"[^>]*>([^<]*)<`).exec(html)?.[1];
/** Whether an `<a>` links to `href` with the given test id and text. */
const linkPattern = (href: string, id: string, label: string) =>
  new RegExp(`<a(?=[^>]*href="${href}")(?=[^>]*data-testid="${id}")[^>]*>${label}</a>`);

describe('ClusterSection', () => {
  it('renders the summary and one row per node of the mocked answers, in their order', async () => {
    const html = await render('en-US');
    expect(html).toContain('data-testid="dashboard-cluster"');
    expect(html).toContain('data-testid="dashboard-node-performance"');
    expect(ownText(html, 'dashboard-cluster-online')).toBe('2');
    expect(ownText(html, 'dashboard-cluster-total')).toBe('3');
    expect(ownText(html, 'dashboard-cluster-outdated')).toBe('1');
    expect(html).toContain('data-testid="dashboard-cluster-outdated-link"');
    const rowIds = [...html.matchAll(/data-testid="node-performance-row-(\d+)"/g)].map((match) => match[1]);
    expect(rowIds).toEqual(['1', '2', '3', '8']);
  });

  it('links live nodes to their detail page, tags the master and marks a deleted node', async () => {
    const html = await render('en-US');
    expect(html).toMatch(linkPattern('/nodes/2', 'node-performance-name-2', 'web-01'));
    expect(html).toMatch(linkPattern('/nodes/1', 'node-performance-name-1', 'master-box'));
    expect(html).not.toContain('href="/nodes/8"');
    expect(html).toMatch(/data-testid="node-performance-local-1"[^]*?<span>This master<\/span>/);
    expect(html).not.toContain('node-performance-local-2');
    expect(html).toMatch(/data-testid="node-performance-status-2" data-status="online"/);
    expect(html).toMatch(/data-testid="node-performance-status-3" data-status="offline"/);
    expect(html).toMatch(/data-testid="node-performance-status-8" data-status="deleted"/);
    expect(html).toContain('75.0%');
    expect(html).toContain('Outdated');
    expect(html).toContain('1 node offline');
  });

  it('speaks Chinese in zh-CN', async () => {
    const html = await render('zh-CN');
    expect(html).toContain('集群');
    expect(html).toMatch(/data-testid="node-performance-local-1"[^]*?<span>本机<\/span>/);
    expect(html).toContain('1 个节点离线');
    await i18next.changeLanguage('en-US');
  });
});
