/**
 * Global search (SPEC §14.5): Ctrl/Cmd+K anywhere or the header button opens a dialog that
 * searches tasks, recent records, storage targets and nodes (300 ms after the last keystroke);
 * ↑/↓ move through the results, Enter or a click opens one.
 */
import { useEffect, useMemo, useRef, useState } from 'react';
import type { KeyboardEvent, ReactNode } from 'react';
import { Button, Empty, Flex, Input, Modal, Spin, Tooltip, Typography, theme } from 'antd';
import type { InputRef } from 'antd';
import {
  ClusterOutlined,
  HddOutlined,
  HistoryOutlined,
  ScheduleOutlined,
  SearchOutlined,
} from '@ant-design/icons';
import { keepPreviousData, useQuery } from '@tanstack/react-query';
import { useNavigate } from 'react-router';
import { useTranslation } from 'react-i18next';
import { SEARCH_QUERY_MAX, apiRoutes } from '@backupx/contract';
import type { SearchResult, SearchResultItem } from '@backupx/contract';
import { apiCall } from '../api/client.ts';
import { LoadError } from '../components/LoadError.tsx';

/** Wait after the last keystroke before searching. */
export const SEARCH_DEBOUNCE_MS = 300;

const GROUPS = ['tasks', 'records', 'storage', 'nodes'] as const;
type Group = (typeof GROUPS)[number];
const groupIcons: Record<Group, ReactNode> = {
  tasks: <ScheduleOutlined />,
  records: <HistoryOutlined />,
  storage: <HddOutlined />,
  nodes: <ClusterOutlined />,
};

/** The results in display order (tasks, records, storage targets, nodes). */
export const flattenResults = (result: SearchResult | undefined): SearchResultItem[] =>
  result ? GROUPS.flatMap((group) => result[group]) : [];

/** Returns `value` once it has not changed for `delay` ms. */
function useDebounced<T>(value: T, delay: number): T {
  const [debounced, setDebounced] = useState(value);
  useEffect(() => {
    const timer = window.setTimeout(() => setDebounced(value), delay);
    return () => window.clearTimeout(timer);
  }, [value, delay]);
  return debounced;
}

const isMac = typeof navigator !== 'undefined' && /Mac|iPhone|iPad/.test(navigator.platform);

/** Header button plus the Ctrl/Cmd+K shortcut and the search dialog. */
export function GlobalSearch({ compact }: { compact: boolean }) {
  const { t } = useTranslation();
  const [open, setOpen] = useState(false);

  useEffect(() => {
    const onKeyDown = (event: globalThis.KeyboardEvent) => {
      if ((event.ctrlKey || event.metaKey) && !event.altKey && event.key.toLowerCase() === 'k') {
        event.preventDefault();
        setOpen(true);
      }
    };
    window.addEventListener('keydown', onKeyDown);
    return () => window.removeEventListener('keydown', onKeyDown);
  }, []);

  const shortcut = isMac ? '⌘ K' : t('search.shortcut');
  return (
    <>
      <Tooltip title={compact ? `${t('search.open')} (${shortcut})` : undefined}>
        <Button
          type="text"
          icon={<SearchOutlined />}
          aria-label={t('search.open')}
          onClick={() => setOpen(true)}
          data-testid="global-search-open"
        >
          {compact ? null : (
            <Typography.Text type="secondary" keyboard style={{ fontSize: 12 }}>
              {shortcut}
            </Typography.Text>
          )}
        </Button>
      </Tooltip>
      {open ? <SearchDialog onClose={() => setOpen(false)} /> : null}
    </>
  );
}

function SearchDialog({ onClose }: { onClose: () => void }) {
  const { t } = useTranslation();
  const { token } = theme.useToken();
  const navigate = useNavigate();
  const input = useRef<InputRef>(null);
  const list = useRef<HTMLDivElement>(null);
  const [text, setText] = useState('');
  const [rawActive, setActive] = useState(0);
  const query = useDebounced(text.trim(), SEARCH_DEBOUNCE_MS);

  const search = useQuery({
    queryKey: ['search', query],
    queryFn: ({ signal }) => apiCall(apiRoutes.search.search, { query: { q: query }, signal }),
    enabled: query !== '',
    placeholderData: keepPreviousData,
    staleTime: 5_000,
  });
  const result = query === '' ? undefined : search.data;
  const items = useMemo(() => flattenResults(result), [result]);
  // The selection starts over with each new text; results that shrink keep it in range.
  const active = Math.min(rawActive, Math.max(items.length - 1, 0));

  useEffect(() => {
    list.current?.querySelector(`[data-index="${String(active)}"]`)?.scrollIntoView({ block: 'nearest' });
  }, [active]);

  const openItem = (item: SearchResultItem) => {
    onClose();
    void navigate(item.url);
  };

  const onKeyDown = (event: KeyboardEvent<HTMLInputElement>) => {
    if (items.length === 0) return;
    if (event.key === 'ArrowDown') {
      event.preventDefault();
      setActive((active + 1) % items.length);
    } else if (event.key === 'ArrowUp') {
      event.preventDefault();
      setActive((active - 1 + items.length) % items.length);
    } else if (event.key === 'Enter') {
      event.preventDefault();
      const item = items[active];
      if (item) openItem(item);
    }
  };

  const waiting = text.trim() !== query || (search.isFetching && query !== '');
  let index = -1;

  return (
    <Modal
      open
      onCancel={onClose}
      footer={null}
      closable={false}
      width={640}
      style={{ top: 80 }}
      styles={{ body: { padding: 0 } }}
      afterOpenChange={(visible) => {
        if (visible) input.current?.focus();
      }}
      destroyOnHidden
      modalRender={(node) => <div data-testid="global-search-modal">{node}</div>}
    >
      <div style={{ padding: 12, borderBottom: `1px solid ${token.colorBorderSecondary}` }}>
        <Input
          ref={input}
          autoFocus
          size="large"
          variant="borderless"
          prefix={<SearchOutlined style={{ color: token.colorTextTertiary }} />}
          suffix={waiting ? <Spin size="small" /> : null}
          placeholder={t('search.placeholder')}
          maxLength={SEARCH_QUERY_MAX}
          value={text}
          onChange={(event) => {
            setText(event.target.value);
            setActive(0);
          }}
          onKeyDown={onKeyDown}
          aria-label={t('search.open')}
          data-testid="global-search-input"
        />
      </div>
      <div
        ref={list}
        style={{ maxHeight: '60vh', overflowY: 'auto', padding: 8 }}
        data-testid="global-search-results"
        data-query={result?.query ?? ''}
        data-count={result?.totalCount ?? 0}
      >
        {search.error && query !== '' ? (
          <LoadError error={search.error} onRetry={() => void search.refetch()} />
        ) : query === '' ? (
          <Typography.Paragraph
            type="secondary"
            style={{ margin: 16, textAlign: 'center' }}
            data-testid="global-search-hint"
          >
            {t('search.hint')}
          </Typography.Paragraph>
        ) : result && items.length === 0 ? (
          <Empty
            image={Empty.PRESENTED_IMAGE_SIMPLE}
            description={t('search.noResults', { query: result.query })}
            data-testid="global-search-empty"
          />
        ) : !result ? (
          <Typography.Paragraph type="secondary" style={{ margin: 16, textAlign: 'center' }}>
            {t('search.searching')}
          </Typography.Paragraph>
        ) : (
          GROUPS.filter((group) => result[group].length > 0).map((group) => (
            <div key={group} style={{ marginBottom: 8 }} data-testid={`global-search-group-${group}`}>
              <Typography.Text
                type="secondary"
                style={{ display: 'block', fontSize: 12, fontWeight: 600, padding: '6px 12px' }}
              >
                {t(`search.groups.${group}`)}
              </Typography.Text>
              {result[group].map((item) => {
                index += 1;
                const position = index;
                const selected = position === active;
                return (
                  <div
                    key={`${item.kind}-${String(item.id)}`}
                    role="option"
                    aria-selected={selected}
                    data-index={position}
                    data-active={selected}
                    data-url={item.url}
                    data-testid={`search-result-${item.kind}-${String(item.id)}`}
                    onMouseEnter={() => setActive(position)}
                    onClick={() => openItem(item)}
                    style={{
                      display: 'flex',
                      alignItems: 'center',
                      gap: 12,
                      padding: '8px 12px',
                      borderRadius: token.borderRadius,
                      cursor: 'pointer',
                      background: selected ? token.controlItemBgActive : undefined,
                    }}
                  >
                    <span
                      style={{ color: selected ? token.colorPrimary : token.colorTextTertiary, fontSize: 16 }}
                    >
                      {groupIcons[group]}
                    </span>
                    <Flex vertical style={{ minWidth: 0, flex: 1 }}>
                      <Typography.Text strong ellipsis>
                        {item.title}
                      </Typography.Text>
                      {item.subtitle ? (
                        <Typography.Text type="secondary" ellipsis style={{ fontSize: 12 }}>
                          {item.subtitle}
                        </Typography.Text>
                      ) : null}
                    </Flex>
                    {item.highlight && item.highlight !== item.title ? (
                      <Typography.Text type="secondary" ellipsis style={{ fontSize: 12, maxWidth: 200 }}>
                        {t('search.matched', { value: item.highlight })}
                      </Typography.Text>
                    ) : null}
                  </div>
                );
              })}
            </div>
          ))
        )}
      </div>
      <div
        style={{
          padding: '8px 16px',
          borderTop: `1px solid ${token.colorBorderSecondary}`,
          fontSize: 12,
          color: token.colorTextTertiary,
        }}
      >
        {t('search.keys')}
      </div>
    </Modal>
  );
}
