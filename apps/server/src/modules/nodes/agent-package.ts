/**
 * The agent package the master serves at `GET /api/agent/package`: a .tar.gz with the master's own
 * Node runtime, the agent bundled into one ESM file, and a launcher, so a server needs nothing
 * installed to run an agent.
 *
 *   backupx-agent/backupx-agent        sh launcher: exec bin/node agent.mjs "$@"
 *   backupx-agent/agent.mjs            @backupx/agent (+ engine, contract, npm deps), one file
 *   backupx-agent/*.worker.mjs         the engine's worker threads, one file each
 *   backupx-agent/native/*.node        native addons the bundle loads (zstd-napi, ssh2's crypto)
 *   backupx-agent/bin/node             a copy of process.execPath
 *
 * It is built once per version and kept under `<dataDir>/agent-package/`.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { access, mkdir, readFile, readdir, rename, rm, stat } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import type { Logger } from 'pino';
import type { Plugin, RolldownOutput } from 'rolldown';
import tar from 'tar-stream';

export type AgentPackageArch = 'amd64' | 'arm64';

export interface AgentPackage {
  /** Absolute path of the cached .tar.gz. */
  path: string;
  /** Lower-case hex SHA-256 of the file (sent as `X-BackupX-SHA256`). */
  sha256: string;
  size: number;
  /** The only architecture this master can serve: its own (sent as `X-BackupX-Arch`). */
  arch: AgentPackageArch;
}

export interface AgentPackageBuilder {
  /** Builds on first use (callers at the same time share one build), then serves the cache. */
  get(): Promise<AgentPackage>;
}

export interface AgentPackageBuilderDeps {
  dataDir: string;
  /** The master's version: the package is rebuilt when it changes. */
  version: string;
  logger: Pick<Logger, 'info' | 'warn'>;
  /**
   * Absolute path of the module exporting `agentMain` or `runAgentCommand`, `(argv, env) =>
   * Promise<exit code>`. Default: the entry of `@backupx/agent`. Tests point it at a stand-in.
   */
  agentModulePath?: string;
  /** The Node runtime to ship; default the master's own (`process.execPath`). */
  nodePath?: string;
}

/** The agent architecture of a Node platform/arch pair, or undefined when no package fits it. */
export const agentPackageArch = (
  platform: NodeJS.Platform = process.platform,
  arch: string = process.arch,
): AgentPackageArch | undefined => {
  if (platform !== 'linux') return undefined;
  if (arch === 'x64') return 'amd64';
  if (arch === 'arm64') return 'arm64';
  return undefined;
};

/** File name of the cached package. */
export const agentPackageFileName = (version: string, arch: AgentPackageArch): string =>
  `backupx-agent-${version}-linux-${arch}.tar.gz`;

const SAFE_VERSION = /^[0-9A-Za-z.+_-]{1,64}$/;
const PACKAGE_DIR = 'backupx-agent';
const CACHE_DIR = 'agent-package';
const VIRTUAL_ENTRY = '\0backupx-agent-entry';
/** On the Node binary (most of the package): 40 % faster than the default 6, 3 % larger. */
const GZIP_LEVEL = 4;

export const AGENT_LAUNCHER = '#!/bin/sh\nexec "$(dirname "$0")/bin/node" "$(dirname "$0")/agent.mjs" "$@"\n';

/**
 * Native addons the agent may try and does without: ssh2 falls back to its JS ciphers without
 * cpu-features; the database drivers of the master never belong in the agent.
 */
const EXTERNAL_PACKAGES = /^(cpu-features|better-sqlite3|pg-native)(\/|$)/;

/** Modules that pick their addon's path at run time; each gets the static path it resolves to. */
const DYNAMIC_NATIVE_LOADERS: { id: RegExp; code: string }[] = [
  {
    id: /[\\/]zstd-napi[\\/]binding\.js$/,
    code: "module.exports = require('./build/Release/binding.node');",
  },
];

/** `new URL('./x.worker.ts', import.meta.url)`: worker threads the engine starts. */
const WORKER_URL = /new URL\((['"])\.\/([\w.-]+)\.worker\.ts\1,\s*import\.meta\.url\)/g;
const BUNDLED_WORKER_URL = /new URL\((['"])\.\/[\w.-]+\.worker\.mjs\1, import\.meta\.url\)/g;
/** `readFileSync(new URL('../package.json', import.meta.url), 'utf8')`: inlined at build time. */
const JSON_READ =
  /readFileSync\(\s*new URL\(\s*(['"])((?:\.\.?\/)+[\w./-]*\.json)\1\s*,\s*import\.meta\.url\s*\)\s*,\s*(['"])utf-?8\3\s*\)/g;

/**
 * What the agent module may export as its command: `(argv, env) => Promise<exit code>`, given the
 * arguments after `agent`. The first one it has is used.
 */
const AGENT_ENTRY_EXPORTS = ['agentMain', 'runAgentCommand'] as const;

const entrySource = (agentModulePath: string, exportName: string): string => `
import { ${exportName} as agentMain } from ${JSON.stringify(agentModulePath)};
// The launcher is started as \`backupx-agent agent --config FILE\`, like \`backupx agent …\`.
const args = process.argv.slice(2);
try {
  process.exitCode = await agentMain(args[0] === 'agent' ? args.slice(1) : args, process.env);
} catch (error) {
  process.stderr.write(\`backupx-agent: \${error instanceof Error ? error.message : String(error)}\\n\`);
  process.exitCode = 1;
}
`;

const exists = async (file: string): Promise<boolean> => {
  try {
    await access(file);
    return true;
  } catch {
    return false;
  }
};

/** The directory name of the package a file belongs to, for naming its addon. */
const owningPackage = (file: string): string => {
  const parts = file.split(path.sep);
  const at = parts.lastIndexOf('node_modules');
  if (at === -1) return 'addon';
  const name = parts[at + 1] ?? 'addon';
  return name.startsWith('@') ? `${name.slice(1)}-${parts[at + 2] ?? ''}` : name;
};

interface BundleResult {
  /** File name (in the package directory) → code. */
  scripts: Map<string, string>;
  /** File name (under native/) → absolute source path. */
  natives: Map<string, string>;
}

const sha256File = async (file: string): Promise<string> => {
  const hash = createHash('sha256');
  await pipeline(createReadStream(file), hash);
  return hash.digest('hex');
};

export const createAgentPackageBuilder = (deps: AgentPackageBuilderDeps): AgentPackageBuilder => {
  const { dataDir, version, logger } = deps;
  const nodePath = deps.nodePath ?? process.execPath;
  let pending: Promise<AgentPackage> | undefined;

  const bundle = async (): Promise<BundleResult> => {
    const { rolldown } = await import('rolldown');
    const agentModulePath = deps.agentModulePath ?? createRequire(import.meta.url).resolve('@backupx/agent');
    const natives = new Map<string, string>();
    const workers = new Map<string, string>();
    let warnings = 0;

    const plugin: Plugin = {
      name: 'backupx-agent-package',
      resolveId: async (source, importer) => {
        if (source === VIRTUAL_ENTRY) return VIRTUAL_ENTRY;
        if (EXTERNAL_PACKAGES.test(source)) return { id: source, external: true };
        if (!source.endsWith('.node')) return null;
        const file = importer === undefined ? source : path.resolve(path.dirname(importer), source);
        // A missing addon stays a failing require: its loaders catch that and carry on.
        if (!(await exists(file))) return { id: source, external: true };
        const name = `${owningPackage(file)}-${path.basename(file)}`;
        const known = natives.get(name);
        if (known !== undefined && known !== file) throw new Error(`two native addons named ${name}`);
        natives.set(name, file);
        return { id: `./native/${name}`, external: true };
      },
      async load(id) {
        if (id !== VIRTUAL_ENTRY) return null;
        const { exports } = await this.load({ id: agentModulePath });
        const exportName = AGENT_ENTRY_EXPORTS.find((name) => exports.includes(name));
        if (exportName === undefined) {
          throw new Error(`${agentModulePath} exports neither ${AGENT_ENTRY_EXPORTS.join(' nor ')}`);
        }
        return entrySource(agentModulePath, exportName);
      },
      transform: async (code, id) => {
        const loader = DYNAMIC_NATIVE_LOADERS.find((candidate) => candidate.id.test(id));
        if (loader !== undefined) return { code: loader.code };
        const isOwnSource = path.isAbsolute(id) && !id.includes(`${path.sep}node_modules${path.sep}`);
        if (!isOwnSource || !code.includes('import.meta.url')) return null;
        // Our own sources: every file they locate beside themselves must travel with the bundle.
        let rewritten = code.replace(WORKER_URL, (_match, quote: string, name: string) => {
          const file = path.resolve(path.dirname(id), `${name}.worker.ts`);
          const known = workers.get(name);
          if (known !== undefined && known !== file) throw new Error(`two workers named ${name}`);
          workers.set(name, file);
          return `new URL(${quote}./${name}.worker.mjs${quote}, import.meta.url)`;
        });
        for (const match of [...rewritten.matchAll(JSON_READ)]) {
          const [expression, , relative = ''] = match;
          const text = await readFile(path.resolve(path.dirname(id), relative), 'utf8');
          rewritten = rewritten.replace(expression, () => JSON.stringify(text));
        }
        const unsupported = rewritten
          .split('\n')
          .filter((line) => !/^\s*(\/\/|\*|\/\*)/.test(line))
          .join('\n')
          .replace(BUNDLED_WORKER_URL, '');
        if (unsupported.includes('import.meta.url')) {
          throw new Error(
            `${id} uses import.meta.url in a way the agent bundle cannot carry (only worker files and JSON read with readFileSync are supported)`,
          );
        }
        return rewritten === code ? null : { code: rewritten };
      },
    };

    const build = async (input: string): Promise<string> => {
      const build = await rolldown({
        input,
        platform: 'node',
        plugins: [plugin],
        onLog: (level) => {
          if (level === 'warn') warnings += 1;
        },
      });
      try {
        const output: RolldownOutput = await build.generate({ format: 'esm', codeSplitting: false });
        const [chunk, ...rest] = output.output;
        if (rest.some((file) => file.type === 'chunk')) {
          throw new Error(`bundling ${input} did not produce exactly one file`);
        }
        return chunk.code;
      } finally {
        await build.close();
      }
    };

    const scripts = new Map<string, string>([['agent.mjs', await build(VIRTUAL_ENTRY)]]);
    // Workers can start workers: bundle until no new one turns up.
    const unbundled = (): [string, string][] =>
      [...workers].filter(([name]) => !scripts.has(`${name}.worker.mjs`));
    for (let next = unbundled(); next.length > 0; next = unbundled()) {
      for (const [name, file] of next) scripts.set(`${name}.worker.mjs`, await build(file));
    }
    if (warnings > 0) logger.info({ warnings }, 'agent bundle built with bundler warnings');
    return { scripts, natives };
  };

  const writeTarGz = async (target: string, contents: BundleResult): Promise<string> => {
    const mtime = new Date();
    const header = (name: string, mode: number, size?: number): Partial<tar.Header> & { name: string } => ({
      name: `${PACKAGE_DIR}/${name}`,
      mode,
      mtime,
      uid: 0,
      gid: 0,
      uname: 'root',
      gname: 'root',
      ...(size === undefined ? { type: 'directory' } : { type: 'file', size }),
    });
    const pack = tar.pack();
    const addBuffer = (name: string, mode: number, data: Buffer): Promise<void> =>
      new Promise((resolve, reject) => {
        pack.entry(header(name, mode, data.length), data, (error) => (error ? reject(error) : resolve()));
      });
    const addDirectory = (name: string): Promise<void> =>
      new Promise((resolve, reject) => {
        pack.entry(header(name, 0o755), (error) => (error ? reject(error) : resolve()));
      });
    const addFile = async (name: string, mode: number, file: string): Promise<void> => {
      const { size } = await stat(file);
      await pipeline(createReadStream(file), pack.entry(header(name, mode, size)));
    };
    const fill = async (): Promise<void> => {
      await addDirectory('');
      await addBuffer('backupx-agent', 0o755, Buffer.from(AGENT_LAUNCHER));
      for (const [name, code] of contents.scripts) await addBuffer(name, 0o644, Buffer.from(code));
      if (contents.natives.size > 0) await addDirectory('native');
      for (const [name, file] of contents.natives) await addFile(`native/${name}`, 0o755, file);
      await addDirectory('bin');
      await addFile('bin/node', 0o755, nodePath);
      pack.finalize();
    };

    const hash = createHash('sha256');
    const hashing = new Transform({
      transform(chunk: Buffer, _encoding, callback) {
        hash.update(chunk);
        callback(null, chunk);
      },
    });
    const written = pipeline(
      pack,
      createGzip({ level: GZIP_LEVEL }),
      hashing,
      createWriteStream(target, { mode: 0o644 }),
    );
    await Promise.all([
      written,
      fill().catch((error: unknown) => {
        pack.destroy(error instanceof Error ? error : new Error(String(error)));
        throw error;
      }),
    ]);
    return hash.digest('hex');
  };

  const load = async (): Promise<AgentPackage> => {
    const arch = agentPackageArch();
    if (arch === undefined) {
      throw new Error(
        `the agent package needs a master on Linux amd64 or arm64 (this is ${process.platform}/${process.arch}): install agents from github instead`,
      );
    }
    if (!SAFE_VERSION.test(version)) throw new Error(`unsafe version for a file name: ${version}`);
    const directory = path.join(dataDir, CACHE_DIR);
    const file = path.join(directory, agentPackageFileName(version, arch));
    if (await exists(file)) {
      const [sha256, { size }] = await Promise.all([sha256File(file), stat(file)]);
      return { path: file, sha256, size, arch };
    }

    const started = Date.now();
    await mkdir(directory, { recursive: true, mode: 0o700 });
    const temporary = `${file}.tmp-${randomBytes(6).toString('hex')}`;
    try {
      const contents = await bundle();
      const sha256 = await writeTarGz(temporary, contents);
      await rename(temporary, file);
      const { size } = await stat(file);
      logger.info({ file, sizeBytes: size, durationMs: Date.now() - started }, 'agent package built');
      // Packages of other versions, and leftovers of interrupted builds, are of no further use.
      for (const name of await readdir(directory)) {
        if (name !== path.basename(file) && name.startsWith('backupx-agent-')) {
          await rm(path.join(directory, name), { force: true });
        }
      }
      return { path: file, sha256, size, arch };
    } catch (error) {
      await rm(temporary, { force: true });
      throw error;
    }
  };

  return {
    get: () => {
      pending ??= load().catch((error: unknown) => {
        pending = undefined;
        logger.warn({ err: String(error) }, 'agent package could not be built');
        throw error;
      });
      return pending;
    },
  };
};
