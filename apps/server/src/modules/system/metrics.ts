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
  const taskRuns = new Counter({
    name: 'backupx_task_run_total',
    help: 'Backup runs executed by this master, by outcome and task type',
    labelNames: ['status', 'task_type'],
    registers: [registry],
  });
  const taskRunDuration = new Histogram({
    name: 'backupx_task_run_duration_seconds',
    help: 'Duration of backup runs executed by this master',
    labelNames: ['task_type'],
    buckets: [1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600, 7200],
    registers: [registry],
  });
  const taskBytes = new Counter({
    name: 'backupx_task_bytes_total',
    help: 'Bytes of the artifacts of backup runs executed by this master',
    labelNames: ['task_type'],
    registers: [registry],
  });
  const tasksRunning = new Gauge({
    name: 'backupx_task_running',
    help: 'Backup runs in progress on this master',
    registers: [registry],
  });
  const restoreRuns = new Counter({
    name: 'backupx_restore_run_total',
    help: 'Restore runs executed by this master, by outcome',
    labelNames: ['status'],
    registers: [registry],
  });
  const replicationRuns = new Counter({
    name: 'backupx_replication_run_total',
    help: 'Replications (3-2-1 copies) run by this master, by outcome',
    labelNames: ['status'],
    registers: [registry],
  });
  const verifyRuns = new Counter({
    name: 'backupx_verify_run_total',
    help: 'Verification drills run by this master, by outcome',
    labelNames: ['status'],
    registers: [registry],
  });
  const notificationDeliveries = new Counter({
    name: 'backupx_notification_delivery_total',
    help: 'Event deliveries to notification channels, by channel type and outcome',
    labelNames: ['channel', 'status'],
    registers: [registry],
  });
  let slaBreachSource: (() => Promise<number>) | undefined;
  new Gauge({
    name: 'backupx_sla_breach_tasks',
    help: 'Enabled tasks with an RPO and no successful backup within it (SPEC §10.2 rule)',
    registers: [registry],
    async collect() {
      if (slaBreachSource) this.set(await slaBreachSource());
    },
  });
  const sseDropped = new Counter({
    name: 'backupx_sse_events_dropped_total',
    help: 'Live events not sent to a stream subscriber because it did not read fast enough',
    registers: [registry],
  });
  return {
    registry,
    /** One finished backup run (success or failed) executed by this master. */
    observeBackupRun(run: {
      status: 'success' | 'failed';
      taskType: string;
      durationSeconds: number;
      bytes: number;
    }): void {
      taskRuns.inc({ status: run.status, task_type: run.taskType });
      taskRunDuration.observe({ task_type: run.taskType }, Math.max(0, run.durationSeconds));
      if (run.bytes > 0) taskBytes.inc({ task_type: run.taskType }, run.bytes);
    },
    /** Call when a local backup run starts; call the returned function exactly once when it ends. */
    backupRunStarted(): () => void {
      tasksRunning.inc();
      let ended = false;
      return () => {
        if (ended) return;
        ended = true;
        tasksRunning.dec();
      };
    },
    observeReplicationRun(status: 'success' | 'failed'): void {
      replicationRuns.inc({ status });
    },
    observeVerifyRun(status: 'success' | 'failed'): void {
      verifyRuns.inc({ status });
    },
    observeRestoreRun(status: 'success' | 'failed'): void {
      restoreRuns.inc({ status });
    },
    observeNotificationDelivery(channel: string, status: 'success' | 'failed'): void {
      notificationDeliveries.inc({ channel, status });
    },
    /** What `backupx_sla_breach_tasks` reads at each scrape. */
    setSlaBreachSource(source: () => Promise<number>): void {
      slaBreachSource = source;
    },
    observeSseDropped(count = 1): void {
      sseDropped.inc(count);
    },
    observeHttp(method: string, route: string, status: number, seconds: number): void {
      httpRequests.inc({ method, route, status: String(status) });
      httpDuration.observe({ method, route }, seconds);
    },
    async render(): Promise<{ contentType: string; body: string }> {
      return { contentType: registry.contentType, body: await registry.metrics() };
    },
  };
};
