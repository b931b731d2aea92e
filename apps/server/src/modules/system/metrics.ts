import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export type Metrics = ReturnType<typeof createMetrics>;

/** A dedicated registry: process/runtime metrics and the product's own, all prefixed `backupx_`. */
export const createMetrics = (version: string) => {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'backupx_' });
  const appInfo = new Gauge({
    name: 'backupx_app_info',
    help: 'BackupX build information',
    labelNames: ['version'],
    registers: [registry],
  });
  appInfo.set({ version }, 1);
  const httpRequests = new Counter({
    name: 'backupx_http_requests_total',
    help: 'HTTP requests answered, by route pattern and status',
    labelNames: ['method', 'route', 'status'],
    registers: [registry],
  });
  const httpDuration = new Histogram({
    name: 'backupx_http_request_duration_seconds',
    help: 'HTTP request latency by route pattern',
    labelNames: ['method', 'route'],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [registry],
  });
  return {
    registry,
    observeHttp(method: string, route: string, status: number, seconds: number): void {
      httpRequests.inc({ method, route, status: String(status) });
      httpDuration.observe({ method, route }, seconds);
    },
    async render(): Promise<{ contentType: string; body: string }> {
      return { contentType: registry.contentType, body: await registry.metrics() };
    },
  };
};
