/** Global search across tasks, recent records, storage targets and nodes (SPEC §14.5). */
import { z } from 'zod';
import { defineRoute } from './route.ts';

/** Longest accepted query, in characters. */
export const SEARCH_QUERY_MAX = 200;
/** Most results returned per group. */
export const SEARCH_GROUP_LIMIT = 10;
/** Records are searched among this many most recent ones. */
export const SEARCH_RECENT_RECORDS = 100;

/** What a result points at; each kind has its own group in the response. */
export const searchKinds = ['task', 'record', 'storage', 'node'] as const;

/** `GET /api/search?q=`. */
export const searchQuerySchema = z.strictObject({
  /** Case-insensitive substring; `%`, `_` and `\` match themselves. Blank = no results. */
  q: z.string().max(SEARCH_QUERY_MAX).optional(),
});

/** One result: enough to show it and to open it in the console; never configuration or secrets. */
export const searchResultItemSchema = z.object({
  kind: z.enum(searchKinds),
  id: z.number().int(),
  title: z.string(),
  subtitle: z.string().optional(),
  /** The value of the first field that matched. */
  highlight: z.string().optional(),
  /** Console route to open the result. */
  url: z.string(),
});
export type SearchResultItem = z.infer<typeof searchResultItemSchema>;

/** The whole answer, grouped by kind. */
export const searchResultSchema = z.object({
  /** The query as searched (trimmed). */
  query: z.string(),
  /** By name. */
  tasks: z.array(searchResultItemSchema),
  /** Newest first, among the 100 most recent records. */
  records: z.array(searchResultItemSchema),
  /** By name. */
  storage: z.array(searchResultItemSchema),
  /** By name. */
  nodes: z.array(searchResultItemSchema),
  /** Results returned over all groups (each group holds at most 10). */
  totalCount: z.number().int(),
});
export type SearchResult = z.infer<typeof searchResultSchema>;

/** The global search route (any role). */
export const searchRoutes = {
  search: defineRoute({
    method: 'GET',
    path: '/api/search',
    access: 'viewer',
    tag: 'search',
    summary:
      'Search task names, types, tags, sources and databases; storage targets; nodes; and the 100 most recent records (≤10 each)',
    query: searchQuerySchema,
    invalidInputCode: 'SEARCH_QUERY_INVALID',
    response: searchResultSchema,
  }),
} as const;
