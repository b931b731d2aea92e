import { z } from 'zod';
import { errorCatalog, type RouteSpec } from '@backupx/contract';

const toJsonSchema = (schema: z.ZodType, io: 'input' | 'output') =>
  z.toJSONSchema(schema, { io, unrepresentable: 'any', target: 'openapi-3.0' });

const errorSchema = {
  type: 'object',
  required: ['code', 'message'],
  properties: {
    code: { type: 'string', enum: Object.keys(errorCatalog) },
    message: { type: 'string' },
    details: {
      type: 'array',
      items: { type: 'object', properties: { path: { type: 'string' }, message: { type: 'string' } } },
    },
  },
};

const parameterList = (schema: z.ZodType | undefined, location: 'path' | 'query') => {
  if (schema === undefined) return [];
  const json = toJsonSchema(schema, 'input') as { properties?: Record<string, object>; required?: string[] };
  return Object.entries(json.properties ?? {}).map(([name, property]) => ({
    name,
    in: location,
    required: location === 'path' || (json.required ?? []).includes(name),
    schema: property,
  }));
};

const contentTypes: Record<string, string> = {
  csv: 'text/csv',
  text: 'text/plain',
  'octet-stream': 'application/octet-stream',
  'event-stream': 'text/event-stream',
};

/** Builds the OpenAPI 3 document from the contract route list. Deterministic: committed and drift-checked. */
export const buildOpenApiDocument = (routes: readonly RouteSpec[], version: string) => {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const route of [...routes].sort(
    (a, b) => a.path.localeCompare(b.path) || a.method.localeCompare(b.method),
  )) {
    const openApiPath = route.path.replace(/:([A-Za-z]+)/g, '{$1}');
    const kind = route.responseKind ?? 'json';
    let successContent: Record<string, unknown>;
    if (kind === 'json') {
      successContent = {
        'application/json': {
          schema: {
            type: 'object',
            required: ['code', 'message'],
            properties: {
              code: { type: 'string', enum: ['OK'] },
              message: { type: 'string', enum: ['success'] },
              ...(route.response ? { data: toJsonSchema(route.response, 'output') } : {}),
            },
          },
        },
      };
    } else if (kind === 'raw-json') {
      successContent = {
        'application/json': { schema: route.response ? toJsonSchema(route.response, 'output') : {} },
      };
    } else {
      successContent = { [contentTypes[kind] ?? 'application/octet-stream']: { schema: { type: 'string' } } };
    }
    const operation: Record<string, unknown> = {
      operationId: `${route.method.toLowerCase()}${openApiPath.replace(/[^A-Za-z0-9]+(.)?/g, (_m, c: string | undefined) => (c ?? '').toUpperCase())}`,
      summary: route.summary,
      tags: [route.tag],
      'x-backupx-access': route.access,
      security: route.access === 'public' ? [] : [{ bearerAuth: [] }, { apiKey: [] }],
      parameters: [...parameterList(route.params, 'path'), ...parameterList(route.query, 'query')],
      responses: {
        '200': { description: 'Success', content: successContent },
        default: {
          description: 'Error',
          content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } },
        },
      },
    };
    if (route.body) {
      operation.requestBody = {
        required: true,
        content: { 'application/json': { schema: toJsonSchema(route.body, 'input') } },
      };
    }
    paths[openApiPath] ??= {};
    paths[openApiPath][route.method.toLowerCase()] = operation;
  }
  return {
    openapi: '3.0.3',
    info: {
      title: 'BackupX API',
      version,
      description: 'REST API of the BackupX master. Responses use the envelope {code, message, data}.',
    },
    components: {
      securitySchemes: {
        bearerAuth: { type: 'http', scheme: 'bearer', description: 'Session JWT, or an API key (bax_…)' },
        apiKey: { type: 'apiKey', in: 'header', name: 'X-Api-Key' },
      },
      schemas: { Error: errorSchema },
    },
    paths,
  };
};
