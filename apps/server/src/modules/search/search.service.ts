import {
  SEARCH_GROUP_LIMIT,
  SEARCH_RECENT_RECORDS,
  type SearchResult,
  type SearchResultItem,
} from '@backupx/contract';
import type { SearchRepository } from './search.repository.ts';

export interface SearchServiceDeps {
  repository: SearchRepository;
}

export type SearchService = ReturnType<typeof createSearchService>;

/** The first non-empty value containing the (lower-case) needle, shown as the result's highlight. */
const firstMatch = (needle: string, values: readonly (string | null)[]): string | undefined =>
  values.find(
    (value): value is string => value !== null && value !== '' && value.toLowerCase().includes(needle),
  );

const pathsOf = (json: string): string[] => {
  try {
    const value: unknown = JSON.parse(json);
    return Array.isArray(value) ? value.filter((item): item is string => typeof item === 'string') : [];
  } catch {
    return [];
  }
};

/** Adds `subtitle` / `highlight` only when there is one (they are optional in the contract). */
const item = (
  base: Pick<SearchResultItem, 'kind' | 'id' | 'title' | 'url'>,
  subtitle: string | null | undefined,
  highlight: string | undefined,
): SearchResultItem => ({
  ...base,
  ...(subtitle ? { subtitle } : {}),
  ...(highlight === undefined ? {} : { highlight }),
});

/** Global search (SPEC §14.5): case-insensitive substring, at most 10 results per group. */
export const createSearchService = ({ repository }: SearchServiceDeps) => ({
  async search(rawQuery: string | undefined): Promise<SearchResult> {
    const query = (rawQuery ?? '').trim();
    if (query === '') return { query, tasks: [], records: [], storage: [], nodes: [], totalCount: 0 };
    const needle = query.toLowerCase();
    const [taskRows, recordRows, storageRows, nodeRows] = await Promise.all([
      repository.tasks(needle, SEARCH_GROUP_LIMIT),
      repository.records(needle, SEARCH_GROUP_LIMIT, SEARCH_RECENT_RECORDS),
      repository.storageTargets(needle, SEARCH_GROUP_LIMIT),
      repository.nodes(needle, SEARCH_GROUP_LIMIT),
    ]);
    const tasks = taskRows.map((row) =>
      item(
        { kind: 'task', id: row.id, title: row.name, url: '/backup/tasks' },
        row.type,
        firstMatch(needle, [
          row.name,
          row.tags,
          row.type,
          row.sourcePath,
          ...pathsOf(row.sourcePaths),
          row.dbHost,
          row.dbName,
        ]),
      ),
    );
    const records = recordRows.map((row) =>
      item(
        {
          kind: 'record',
          id: row.id,
          title: row.fileName !== '' ? row.fileName : `Record #${row.id} (${row.status})`,
          url: `/backup/records?recordId=${row.id}`,
        },
        row.taskName,
        firstMatch(needle, [row.fileName, row.storagePath, row.taskName]),
      ),
    );
    const storage = storageRows.map((row) =>
      item(
        { kind: 'storage', id: row.id, title: row.name, url: '/storage-targets' },
        row.type,
        firstMatch(needle, [row.name, row.description, row.type]),
      ),
    );
    const nodes = nodeRows.map((row) =>
      item(
        { kind: 'node', id: row.id, title: row.name, url: '/nodes' },
        row.hostname !== '' ? row.hostname : row.ipAddress,
        firstMatch(needle, [row.name, row.hostname, row.ipAddress]),
      ),
    );
    return {
      query,
      tasks,
      records,
      storage,
      nodes,
      totalCount: tasks.length + records.length + storage.length + nodes.length,
    };
  },
});
