// `npm run bench -- cluster`: the master with 500, 1,000 and 2,000 simulated agents on loopback.
// Each simulated agent heartbeats every 15 s and holds a long poll (`wait=25`), like the real agent
// (apps/agent/src/agent.ts). Per step: dispatch latency of a remote directory listing (admin API
// request sent → the agent's long poll returns the command), the RPC round trip, latency of the
// agents' heartbeats and results, errors, and the master's CPU and RSS from /proc. Baseline in the
// same run: one agent, its dispatch latency and GET /health. Bounded in time (about 2 minutes).
//
// BACKUPX_BENCH_MASTER_NODE_OPTIONS is passed to the master as NODE_OPTIONS (e.g.
// `--cpu-prof --cpu-prof-dir=/tmp/prof`), to profile the master alone and not the bench.
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import { createServer } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { createApiClient } from '@backupx/testkit';

const repoRoot = fileURLToPath(new URL('..', import.meta.url));

const STEPS = [500, 1000, 2000] as const;
const MAX_AGENTS = 2000;
/** The real agent's defaults (apps/agent/src/agent.ts, config): heartbeat period, poll wait. */
const HEARTBEAT_MS = 15_000;
const POLL_WAIT_S = 25;
/** The real agent gives a long poll its wait plus this much before it calls it a timeout. */
const POLL_GRACE_MS = 15_000;
/** The real agent's pause after a poll the master did not hold (a master without long polling). */
const POLL_INTERVAL_MS = 5000;
const REQUEST_TIMEOUT_MS = 30_000;
/** Open-loop dispatches (not one after the other), so a slow master cannot hide its queueing. */
const DISPATCH_INTERVAL_MS = 100;
const BASELINE_WINDOW_MS = 5000;
const HEALTH_INTERVAL_MS = 20;
/** A window of 25 s sees each agent's poll cycle once and its heartbeat one or two times. */
const STEP_WINDOW_MS = 25_000;
const SETTLE_MS = 5000;
/** Agents join in batches; at most RAMP_BATCH per RAMP_PAUSE_MS, so joining is not a stampede. */
const RAMP_BATCH = 50;
const RAMP_PAUSE_MS = 100;
const NODE_CREATE_CONCURRENCY = 8;
/** Sampling period of the bench's own event-loop delay histogram; its values include it. */
const LOOP_RESOLUTION_MS = 10;
const ADMIN_PASSWORD = 'Bench-Password-1';

/** Targets of the issue: dispatch at every step; master latency, errors and CPU at 2,000 agents. */
const TARGET_DISPATCH_P50_MS = 100;
const TARGET_DISPATCH_P99_MS = 500;
const TARGET_MASTER_P99_MS = 100;
const TARGET_CPU_PERCENT = 50;

const freePort = (): Promise<number> =>
  new Promise((resolve) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address !== null ? address.port : 0));
    });
  });

/** Nearest-rank percentile of an ascending array (0 when empty). */
const percentile = (sorted: readonly number[], q: number): number =>
  sorted.length === 0 ? 0 : (sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)] ?? 0);
const ascending = (values: readonly number[]): number[] => [...values].sort((a, b) => a - b);
const ms = (value: number): string => (value < 10 ? value.toFixed(2) : value.toFixed(1));

interface Reply {
  status: number;
  body: string;
}

/** One request on loopback through `agent` (keep-alive); rejects on socket errors and timeouts. */
const send = (
  agent: http.Agent,
  port: number,
  method: 'GET' | 'POST',
  urlPath: string,
  headers: Record<string, string>,
  body: string | undefined,
  timeoutMs: number,
  stop: AbortSignal,
): Promise<Reply> =>
  new Promise((resolve, reject) => {
    const request = http.request(
      {
        host: '127.0.0.1',
        port,
        method,
        path: urlPath,
        agent,
        headers:
          body === undefined
            ? headers
            : {
                ...headers,
                'content-type': 'application/json',
                'content-length': String(Buffer.byteLength(body)),
              },
        signal: AbortSignal.any([stop, AbortSignal.timeout(timeoutMs)]),
      },
      (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () =>
          resolve({ status: response.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }),
        );
        response.on('error', reject);
      },
    );
    request.on('error', reject);
    request.end(body);
  });

// ---- master process figures from /proc ----

const clockTicks = (): number => {
  try {
    const value = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim());
    return Number.isFinite(value) && value > 0 ? value : 100;
  } catch {
    return 100;
  }
};

/** utime + stime of every thread of the process (SQLite runs on the main thread, I/O on libuv's). */
const cpuTicksOf = (pid: number): number => {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after `(comm)`: the first is field 3 (state); utime and stime are fields 14 and 15.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return Number(fields[11]) + Number(fields[12]);
};

const rssBytesOf = (pid: number): number => {
  const match = /^VmRSS:\s+(\d+)\s+kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return match === null ? 0 : Number(match[1]) * 1024;
};

// ---- the simulated cluster ----

interface SimAgent {
  index: number;
  nodeId: number;
  token: string;
  /** Its own keep-alive connections, as a real agent has: the long poll's and one for the rest. */
  http: http.Agent;
}

interface PolledCommand {
  id: number;
  type: string;
  payload: Record<string, unknown>;
}

interface Dispatch {
  sentAt: number;
  /** When the agent's long poll returned the command (same process clock). */
  polledAt: number | undefined;
}

interface Errors {
  heartbeat: number;
  poll: number;
  result: number;
  rpc: number;
  health: number;
}

const noErrors = (): Errors => ({ heartbeat: 0, poll: 0, result: 0, rpc: 0, health: 0 });
const totalOf = (errors: Errors): number =>
  errors.heartbeat + errors.poll + errors.result + errors.rpc + errors.health;

interface Samples {
  dispatch: number[];
  rpc: number[];
  heartbeat: number[];
  result: number[];
  health: number[];
}

const noSamples = (): Samples => ({ dispatch: [], rpc: [], heartbeat: [], result: [], health: [] });

interface WindowFigures {
  agents: number;
  samples: Samples;
  /** Every error of the step: joining, settling and the window. */
  errors: Errors;
  cpuPercent: number;
  cpuPeakPercent: number;
  rssMaxMiB: number;
  clientCpuPercent: number;
  clientLoopP99Ms: number;
  earlyPolls: number;
}

const BENCH_PATH = /^\/bench\/(\d+)$/;

/** The soft limit on open files, which this process and the master inherit alike. */
const openFileLimit = (): number => {
  try {
    const value = execFileSync('sh', ['-c', 'ulimit -n'], { encoding: 'utf8' }).trim();
    return value === 'unlimited' ? Number.POSITIVE_INFINITY : Number(value);
  } catch {
    return Number.POSITIVE_INFINITY;
  }
};

export const run = async (): Promise<void> => {
  // Each agent holds two sockets (its long poll, its heartbeats and results) on each side.
  const needed = 2 * MAX_AGENTS + 500;
  const limit = openFileLimit();
  if (limit < needed)
    throw new Error(
      `${MAX_AGENTS} agents need about ${needed} open files and the limit is ${limit}: raise it (ulimit -n, or prlimit --nofile=${needed} npm run bench -- cluster)`,
    );
  const cores = os.availableParallelism();
  const ticksPerSecond = clockTicks();
  const agentVersion = (
    JSON.parse(readFileSync(path.join(repoRoot, 'package.json'), 'utf8')) as { version: string }
  ).version;
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'bx-bench-cluster-'));
  const port = await freePort();
  const masterNodeOptions = process.env.BACKUPX_BENCH_MASTER_NODE_OPTIONS ?? '';
  const child = spawn(
    process.execPath,
    [
      path.join(repoRoot, 'apps/cli/bin/backupx.js'),
      '--host',
      '127.0.0.1',
      '--port',
      String(port),
      '--log-level',
      'warn',
    ],
    {
      cwd: dataDir,
      env: {
        PATH: process.env.PATH ?? '',
        BACKUPX_LOG_FILE: '',
        BACKUPX_BACKUP_TEMP_DIR: path.join(dataDir, 'tmp'),
        ...(masterNodeOptions === '' ? {} : { NODE_OPTIONS: masterNodeOptions }),
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  // The master's last output, shown if it dies during the run.
  let masterOutput = '';
  const keep = (chunk: Buffer) => {
    masterOutput = (masterOutput + chunk.toString('utf8')).slice(-8000);
  };
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  let stoppingMaster = false;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const crashed = new Promise<never>((_resolve, reject) => {
    child.once('exit', (code, signal) => {
      if (!stoppingMaster)
        reject(
          new Error(
            `the master exited during the bench (code ${String(code)}, signal ${String(signal)}):\n${masterOutput}`,
          ),
        );
    });
  });
  // Ctrl-C (or a SIGTERM) ends the run through the `finally` below, which stops the master.
  let onSignal: ((signal: NodeJS.Signals) => void) | undefined;
  const interrupted = new Promise<never>((_resolve, reject) => {
    onSignal = (signal) => reject(new Error(`interrupted by ${signal}`));
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
  });
  // Handled by the races below; this keeps a late rejection from being unhandled.
  crashed.catch(() => undefined);
  interrupted.catch(() => undefined);
  const pid = child.pid;
  if (pid === undefined) throw new Error('the master did not start');

  const stopController = new AbortController();
  const stop = stopController.signal;
  const isStopped = () => stop.aborted;
  const adminHttp = new http.Agent({ keepAlive: true });
  const healthHttp = new http.Agent({ keepAlive: true });
  /** Created once, up front: the agents of every step (index = agent index). */
  const nodes: { id: number; token: string }[] = [];
  const agents: SimAgent[] = [];
  const online: SimAgent[] = [];
  const loops = new Set<Promise<void>>();
  const track = (promise: Promise<void>) => {
    loops.add(promise);
    void promise.finally(() => loops.delete(promise));
  };

  let recording = false;
  let samples = noSamples();
  let errors = noErrors();
  const dispatches = new Map<number, Dispatch>();
  let nextDispatch = 0;
  /** Empty polls the master answered before half their wait (it should hold them): a diagnostic. */
  let earlyPolls = 0;

  const agentHeaders = (sim: SimAgent) => ({
    'x-agent-token': sim.token,
    'user-agent': `backupx-agent/${agentVersion}`,
    accept: 'application/json',
  });

  /** The real agent's heartbeat body (apps/agent/src/system-info.ts), per simulated host. */
  const heartbeatBody = (sim: SimAgent) =>
    JSON.stringify({
      hostname: `bench-host-${String(sim.index).padStart(4, '0')}`,
      ipAddress: `10.20.${Math.floor(sim.index / 250)}.${(sim.index % 250) + 1}`,
      agentVersion,
      os: 'linux',
      arch: 'amd64',
    });

  const heartbeat = async (sim: SimAgent): Promise<boolean> => {
    const started = performance.now();
    try {
      const reply = await send(
        sim.http,
        port,
        'POST',
        '/api/agent/heartbeat',
        agentHeaders(sim),
        heartbeatBody(sim),
        REQUEST_TIMEOUT_MS,
        stop,
      );
      if (recording) samples.heartbeat.push(performance.now() - started);
      if (reply.status === 200) return true;
      errors.heartbeat += 1;
    } catch {
      if (!stop.aborted) errors.heartbeat += 1;
    }
    return false;
  };

  /** The answer the real agent's list_dir gives (apps/agent/src/commands/list-dir.ts), kept small. */
  const listing = (dir: string) => ({
    entries: [
      { name: 'etc', path: `${dir}/etc`, isDir: true, size: 0 },
      { name: 'var', path: `${dir}/var`, isDir: true, size: 0 },
      { name: 'notes.txt', path: `${dir}/notes.txt`, isDir: false, size: 4096 },
    ],
  });

  const answer = async (sim: SimAgent, command: PolledCommand, polledAt: number) => {
    const dir = typeof command.payload.path === 'string' ? command.payload.path : '';
    const match = BENCH_PATH.exec(dir);
    const dispatch = match === null ? undefined : dispatches.get(Number(match[1]));
    if (dispatch !== undefined) dispatch.polledAt = polledAt;
    const body =
      command.type === 'list_dir'
        ? { success: true, result: listing(dir) }
        : { success: false, errorMessage: `${command.type} is not simulated` };
    const started = performance.now();
    try {
      const reply = await send(
        sim.http,
        port,
        'POST',
        `/api/agent/commands/${command.id}/result`,
        agentHeaders(sim),
        JSON.stringify(body),
        REQUEST_TIMEOUT_MS,
        stop,
      );
      if (recording) samples.result.push(performance.now() - started);
      if (reply.status !== 200) errors.result += 1;
    } catch {
      if (!stop.aborted) errors.result += 1;
    }
  };

  const pause = async (delayMs: number): Promise<boolean> => {
    try {
      await sleep(delayMs, undefined, { signal: stop });
      return true;
    } catch {
      return false;
    }
  };

  const heartbeatLoop = async (sim: SimAgent) => {
    // A random phase spreads the heartbeats of all agents evenly over the 15 s period.
    let delay = Math.random() * HEARTBEAT_MS;
    while (await pause(delay)) {
      delay = HEARTBEAT_MS;
      await heartbeat(sim);
    }
  };

  const pollLoop = async (sim: SimAgent) => {
    // A random first wait spreads the poll cycles evenly, as agents that joined over hours would be.
    let wait = 1 + Math.floor(Math.random() * POLL_WAIT_S);
    while (!stop.aborted) {
      const started = performance.now();
      let reply: Reply;
      try {
        reply = await send(
          sim.http,
          port,
          'POST',
          `/api/agent/commands/poll?wait=${wait}`,
          agentHeaders(sim),
          '{}',
          wait * 1000 + POLL_GRACE_MS,
          stop,
        );
      } catch {
        // Read through a call: the loop condition would otherwise narrow `aborted` to false here.
        if (isStopped()) return;
        errors.poll += 1;
        if (!(await pause(1000))) return;
        continue;
      }
      const polledAt = performance.now();
      const asked = wait;
      wait = POLL_WAIT_S;
      if (reply.status !== 200) {
        errors.poll += 1;
        if (!(await pause(1000))) return;
        continue;
      }
      const command = (JSON.parse(reply.body) as { data?: { command?: PolledCommand | null } }).data?.command;
      // Like the real agent: the command runs beside the loop, which polls again at once.
      if (command !== undefined && command !== null) {
        track(answer(sim, command, polledAt));
        continue;
      }
      // Like the real agent (apps/agent/src/agent.ts pollLoop): an empty answer well before the
      // wait means the master did not hold the poll, and the agent waits its poll interval.
      if (polledAt - started < (asked * 1000) / 2) {
        if (recording) earlyPolls += 1;
        if (!(await pause(POLL_INTERVAL_MS))) return;
      }
    }
  };

  /** Resolves once the agent's first heartbeat went through (it is online), then runs its loops. */
  const startAgent = async (sim: SimAgent) => {
    while (!(await heartbeat(sim))) if (!(await pause(1000))) return;
    online.push(sim);
    track(heartbeatLoop(sim));
    track(pollLoop(sim));
  };

  const rampTo = async (count: number) => {
    while (agents.length < count) {
      const batch: SimAgent[] = [];
      while (batch.length < RAMP_BATCH && agents.length < count) {
        const node = nodes[agents.length];
        if (node === undefined) throw new Error(`node ${agents.length} was not created`);
        const sim: SimAgent = {
          index: agents.length,
          nodeId: node.id,
          token: node.token,
          http: new http.Agent({ keepAlive: true }),
        };
        agents.push(sim);
        batch.push(sim);
      }
      await Promise.all([Promise.all(batch.map(startAgent)), pause(RAMP_PAUSE_MS)]);
    }
  };

  const dispatchOnce = async (token: string) => {
    const sim = online[Math.floor(Math.random() * online.length)];
    if (sim === undefined) return;
    const seq = (nextDispatch += 1);
    const dir = `/bench/${seq}`;
    const dispatch: Dispatch = { sentAt: performance.now(), polledAt: undefined };
    dispatches.set(seq, dispatch);
    try {
      const reply = await send(
        adminHttp,
        port,
        'GET',
        `/api/nodes/${sim.nodeId}/fs/list?path=${encodeURIComponent(dir)}`,
        { authorization: `Bearer ${token}`, accept: 'application/json' },
        undefined,
        REQUEST_TIMEOUT_MS,
        stop,
      );
      const answeredAt = performance.now();
      // The listing must be the one this request's agent answered: proves the correlation.
      const data =
        reply.status === 200 ? (JSON.parse(reply.body) as { data?: { path?: string } }).data : undefined;
      if (data?.path !== dir || dispatch.polledAt === undefined) errors.rpc += 1;
      else if (recording) {
        samples.dispatch.push(dispatch.polledAt - dispatch.sentAt);
        samples.rpc.push(answeredAt - dispatch.sentAt);
      }
    } catch {
      if (!stop.aborted) errors.rpc += 1;
    } finally {
      dispatches.delete(seq);
    }
  };

  const healthOnce = async () => {
    const started = performance.now();
    try {
      const reply = await send(healthHttp, port, 'GET', '/health', {}, undefined, REQUEST_TIMEOUT_MS, stop);
      if (recording) samples.health.push(performance.now() - started);
      if (reply.status !== 200) errors.health += 1;
    } catch {
      if (!stop.aborted) errors.health += 1;
    }
  };

  /** Dispatches (and health probes) for `windowMs`, with the master sampled every second. */
  const measureWindow = async (
    token: string,
    windowMs: number,
    withHealth: boolean,
  ): Promise<WindowFigures> => {
    samples = noSamples();
    earlyPolls = 0;
    const loopDelay = monitorEventLoopDelay({ resolution: LOOP_RESOLUTION_MS });
    loopDelay.enable();
    const clientCpu = process.cpuUsage();
    const startedAt = performance.now();
    const startTicks = cpuTicksOf(pid);
    let lastTicks = startTicks;
    let lastAt = startedAt;
    let cpuPeakPercent = 0;
    let rssMax = rssBytesOf(pid);
    const sampler = setInterval(() => {
      const now = performance.now();
      let ticks: number;
      try {
        ticks = cpuTicksOf(pid);
        rssMax = Math.max(rssMax, rssBytesOf(pid));
      } catch {
        // The master is gone (its /proc entry with it): `crashed` ends the run with the reason.
        return;
      }
      cpuPeakPercent = Math.max(
        cpuPeakPercent,
        ((ticks - lastTicks) / ticksPerSecond / ((now - lastAt) / 1000) / cores) * 100,
      );
      lastTicks = ticks;
      lastAt = now;
    }, 1000);
    recording = true;
    const inFlight = new Set<Promise<void>>();
    const fire = (promise: Promise<void>) => {
      inFlight.add(promise);
      void promise.finally(() => inFlight.delete(promise));
    };
    const dispatcher = setInterval(() => fire(dispatchOnce(token)), DISPATCH_INTERVAL_MS);
    const prober = withHealth ? setInterval(() => fire(healthOnce()), HEALTH_INTERVAL_MS) : undefined;
    try {
      await Promise.race([sleep(windowMs), crashed]);
      clearInterval(dispatcher);
      clearInterval(prober);
      // Requests sent in the window count, however late they end (bounded by their timeout).
      await Promise.race([Promise.all(inFlight), crashed]);
    } finally {
      clearInterval(dispatcher);
      clearInterval(prober);
      clearInterval(sampler);
      recording = false;
      loopDelay.disable();
    }
    const endedAt = performance.now();
    const wallSeconds = (endedAt - startedAt) / 1000;
    const cpuSeconds = (cpuTicksOf(pid) - startTicks) / ticksPerSecond;
    rssMax = Math.max(rssMax, rssBytesOf(pid));
    const client = process.cpuUsage(clientCpu);
    return {
      agents: online.length,
      samples,
      errors,
      cpuPercent: (cpuSeconds / (wallSeconds * cores)) * 100,
      cpuPeakPercent,
      rssMaxMiB: rssMax / 1024 / 1024,
      clientCpuPercent: ((client.user + client.system) / 1e6 / (wallSeconds * cores)) * 100,
      clientLoopP99Ms: Math.max(0, loopDelay.percentile(99) / 1e6 - LOOP_RESOLUTION_MS),
      earlyPolls,
    };
  };

  const body = async () => {
    const api = createApiClient(`http://127.0.0.1:${port}`);
    for (let attempt = 0; ; attempt += 1) {
      try {
        if ((await api.get('/ready')).status === 200) break;
      } catch {
        // Not listening yet.
      }
      if (attempt >= 150) throw new Error('the master did not become ready within 30 s');
      await sleep(200);
    }
    const setup = await api.post<{ data: { token: string } }>('/api/auth/setup', {
      username: 'bench',
      password: ADMIN_PASSWORD,
      displayName: 'Bench',
    });
    if (setup.status !== 200) throw new Error(`setup failed: ${setup.status} ${setup.text}`);
    const token = setup.body.data.token;

    const createStarted = performance.now();
    let nextNode = 0;
    const creator = async () => {
      while (nextNode < MAX_AGENTS) {
        const index = nextNode;
        nextNode += 1;
        const created = await api.post<{ data: { id: number; token: string } }>(
          '/api/nodes',
          { name: `bench-agent-${String(index).padStart(4, '0')}` },
          { token },
        );
        if (created.status !== 200) throw new Error(`POST /api/nodes: ${created.status} ${created.text}`);
        nodes[index] = { id: created.body.data.id, token: created.body.data.token };
      }
    };
    await Promise.all(Array.from({ length: NODE_CREATE_CONCURRENCY }, creator));
    process.stderr.write(
      `created ${MAX_AGENTS} nodes in ${((performance.now() - createStarted) / 1000).toFixed(1)} s\n`,
    );

    const figureLine = (label: string, figures: WindowFigures, extra: string) => {
      const s = figures.samples;
      const dispatch = ascending(s.dispatch);
      const rpc = ascending(s.rpc);
      const e = figures.errors;
      const breakdown =
        totalOf(e) === 0
          ? ''
          : ` (heartbeat ${e.heartbeat}, poll ${e.poll}, result ${e.result}, rpc ${e.rpc}, health ${e.health})`;
      return (
        `${label}  dispatch p50 ${ms(percentile(dispatch, 0.5))} ms p99 ${ms(percentile(dispatch, 0.99))} ms` +
        `  rpc p50 ${ms(percentile(rpc, 0.5))} ms p99 ${ms(percentile(rpc, 0.99))} ms  ${extra}` +
        `  errors ${totalOf(e)}${breakdown}  cpu ${figures.cpuPercent.toFixed(1)}% of ${cores} cores` +
        `  rss ${figures.rssMaxMiB.toFixed(0)} MiB  [${dispatch.length} dispatches; cpu peak 1 s ${figures.cpuPeakPercent.toFixed(1)}%; empty polls not held ${figures.earlyPolls};` +
        ` bench client cpu ${figures.clientCpuPercent.toFixed(1)}%, event loop lag p99 ${ms(figures.clientLoopP99Ms)} ms]\n`
      );
    };

    // Baseline: one agent, nothing else connected.
    errors = noErrors();
    await Promise.race([rampTo(1), crashed]);
    await Promise.race([sleep(1000), crashed]);
    const idle = await measureWindow(token, BASELINE_WINDOW_MS, true);
    const idleHealth = ascending(idle.samples.health);
    process.stdout.write(
      figureLine(
        'idle (1 agent)',
        idle,
        `health p50 ${ms(percentile(idleHealth, 0.5))} ms p99 ${ms(percentile(idleHealth, 0.99))} ms`,
      ),
    );

    const steps: WindowFigures[] = [];
    for (const count of STEPS) {
      errors = noErrors();
      const rampStarted = performance.now();
      await Promise.race([rampTo(count), crashed]);
      process.stderr.write(
        `${count} agents online after ${((performance.now() - rampStarted) / 1000).toFixed(1)} s of joining\n`,
      );
      await Promise.race([sleep(SETTLE_MS), crashed]);
      const figures = await measureWindow(token, STEP_WINDOW_MS, false);
      steps.push(figures);
      const master = ascending([...figures.samples.heartbeat, ...figures.samples.result]);
      process.stdout.write(
        figureLine(
          `agents ${String(count).padStart(4)}`,
          figures,
          `master p50 ${ms(percentile(master, 0.5))} ms p99 ${ms(percentile(master, 0.99))} ms (${master.length} heartbeats+results)`,
        ),
      );
    }

    const verdict = (met: boolean) => (met ? 'met' : 'MISSED');
    const dispatchP50s = steps.map((step) => percentile(ascending(step.samples.dispatch), 0.5));
    const dispatchP99s = steps.map((step) => percentile(ascending(step.samples.dispatch), 0.99));
    const top = steps.at(-1);
    if (top === undefined) throw new Error('no step was measured');
    const topMaster = ascending([...top.samples.heartbeat, ...top.samples.result]);
    const topMasterP99 = percentile(topMaster, 0.99);
    const worstP50 = Math.max(...dispatchP50s);
    const worstP99 = Math.max(...dispatchP99s);
    // A step without a single dispatch sample has not shown the target, whatever its percentiles say.
    const allSampled = steps.every((step) => step.samples.dispatch.length > 0);
    process.stdout.write(
      `targets: dispatch p50 ≤ ${TARGET_DISPATCH_P50_MS} ms at every step ${verdict(allSampled && worstP50 <= TARGET_DISPATCH_P50_MS)} (worst ${ms(worstP50)} ms)` +
        `; dispatch p99 ≤ ${TARGET_DISPATCH_P99_MS} ms at every step ${verdict(allSampled && worstP99 <= TARGET_DISPATCH_P99_MS)} (worst ${ms(worstP99)} ms)` +
        `; at ${top.agents} agents: master p99 ≤ ${TARGET_MASTER_P99_MS} ms ${verdict(topMaster.length > 0 && topMasterP99 <= TARGET_MASTER_P99_MS)} (${ms(topMasterP99)} ms)` +
        `, 0 errors ${verdict(totalOf(top.errors) === 0)} (${totalOf(top.errors)})` +
        `, cpu ≤ ${TARGET_CPU_PERCENT}% of ${cores} cores ${verdict(top.cpuPercent <= TARGET_CPU_PERCENT)} (${top.cpuPercent.toFixed(1)}%)\n`,
    );

    const idleDispatch = ascending(idle.samples.dispatch);
    const topDispatch = ascending(top.samples.dispatch);
    const topHeartbeat = ascending(top.samples.heartbeat);
    const ratio = (value: number, base: number) => (base > 0 ? `${(value / base).toFixed(1)}x` : 'n/a');
    process.stdout.write(
      `ratios vs idle (1 agent): dispatch p50 at ${top.agents} agents ${ratio(percentile(topDispatch, 0.5), percentile(idleDispatch, 0.5))}` +
        `, p99 ${ratio(percentile(topDispatch, 0.99), percentile(idleDispatch, 0.99))}` +
        `; heartbeat p50 vs idle health p50 ${ratio(percentile(topHeartbeat, 0.5), percentile(idleHealth, 0.5))}` +
        `, p99 ${ratio(percentile(topHeartbeat, 0.99), percentile(idleHealth, 0.99))}\n`,
    );
  };

  try {
    await Promise.race([body(), crashed, interrupted]);
  } finally {
    if (onSignal !== undefined) {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    }
    stopController.abort();
    await Promise.race([Promise.allSettled(loops), sleep(5000)]);
    for (const sim of agents) sim.http.destroy();
    adminHttp.destroy();
    healthHttp.destroy();
    stoppingMaster = true;
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const killer = setTimeout(() => child.kill('SIGKILL'), 15_000);
      await exited;
      clearTimeout(killer);
    }
    rmSync(dataDir, { recursive: true, force: true });
  }
};
