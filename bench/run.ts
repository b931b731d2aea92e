// `npm run bench -- <name>`: runs one benchmark (or lists them). Benchmarks print one line per
// figure and a last line of ratios against a baseline measured in the same run.
const benches: Record<string, () => Promise<void>> = {
  api: async () => (await import('./api.bench.ts')).run(),
  cluster: async () => (await import('./cluster.bench.ts')).run(),
  engine: async () => (await import('./engine.bench.ts')).run(),
  repository: async () => (await import('./repository.bench.ts')).run(),
};

const name = process.argv[2];
if (name === undefined || !(name in benches)) {
  process.stdout.write(`usage: npm run bench -- <${Object.keys(benches).join('|')}>\n`);
  process.exit(name === undefined ? 0 : 2);
}
await benches[name]?.();
