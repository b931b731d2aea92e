import { BlockList, isIP } from 'node:net';
import { z } from 'zod';
import { parseDurationMs } from './duration.ts';

const port = z.coerce.number().int().min(1).max(65_535);

const absoluteHttpUrl = z
  .string()
  .trim()
  .refine((value) => {
    if (value === '') return true;
    try {
      const url = new URL(value);
      return (
        (url.protocol === 'http:' || url.protocol === 'https:') &&
        url.username === '' &&
        url.password === '' &&
        url.search === '' &&
        url.hash === ''
      );
    } catch {
      return false;
    }
  }, 'must be an absolute http(s) URL without credentials, query or fragment')
  .transform((value) => value.replace(/\/+$/, ''));

/** An IP or CIDR, validated so a typo cannot silently trust the wrong peers. */
const ipOrCidr = z
  .string()
  .trim()
  .refine((entry) => {
    const [address, prefix] = entry.split('/');
    const family = isIP(address ?? '');
    if (family === 0) return false;
    if (prefix === undefined) return true;
    const bits = Number(prefix);
    return /^\d{1,3}$/.test(prefix) && bits >= 0 && bits <= (family === 4 ? 32 : 128);
  }, 'must be an IP address or CIDR (e.g. 10.0.0.0/8)');

const stringList = z.preprocess(
  (value) =>
    typeof value === 'string'
      ? value
          .split(',')
          .map((item) => item.trim())
          .filter((item) => item !== '')
      : value,
  z.array(ipOrCidr),
);

const duration = z
  .string()
  .refine((value) => parseDurationMs(value) !== null, 'must be a duration such as 24h, 30m or 1h30m');

const boolean = z.preprocess(
  (value) =>
    typeof value === 'string' ? ['1', 'true', 'yes', 'on'].includes(value.trim().toLowerCase()) : value,
  z.boolean(),
);

/**
 * The master's configuration (SPEC §14.10 plus database.url, security.secrets_file).
 * Keys are `section.key`, env names `BACKUPX_<SECTION>_<KEY>`.
 */
const isTimeZone = (zone: string): boolean => {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
};

export const configSchema = z.strictObject({
  server: z.strictObject({
    host: z.string().trim().min(1).default('0.0.0.0'),
    port: port.default(8340),
    mode: z.enum(['debug', 'release']).default('release'),
    external_url: absoluteHttpUrl.default(''),
    trusted_proxies: stringList.default(['127.0.0.1', '::1']),
    web_root: z.string().default(''),
  }),
  database: z.strictObject({
    path: z.string().trim().min(1).default('./data/backupx.db'),
    /** `postgres://…` selects PostgreSQL; empty = embedded SQLite at `path`. */
    url: z
      .string()
      .trim()
      .refine((value) => value === '' || /^postgres(ql)?:\/\//.test(value), 'must be a postgres:// URL')
      .default(''),
  }),
  security: z.strictObject({
    jwt_secret: z.string().default(''),
    jwt_expire: duration.default('24h'),
    encryption_key: z.string().default(''),
    /** Where generated secrets are kept (0600). Default: `secrets.json` beside the SQLite file, or ./data. */
    secrets_file: z.string().default(''),
  }),
  backup: z.strictObject({
    temp_dir: z.string().min(1).default('/tmp/backupx'),
    max_concurrent: z.coerce
      .number()
      .int()
      .transform((n) => (n <= 0 ? 2 : n))
      .default(2),
    retries: z.coerce.number().int().min(0).max(100).default(10),
    bandwidth_limit: z.string().default(''),
    /** IANA time zone for cron schedules and maintenance windows; empty = the process's zone (TZ). */
    timezone: z
      .string()
      .trim()
      .default('')
      .refine((zone) => zone === '' || isTimeZone(zone), 'must be an IANA time zone such as Europe/Berlin'),
  }),
  cluster: z.strictObject({
    /** A remote node not heard from for this long counts as offline (SPEC §11.3: 45 s). */
    offline_after: duration.default('45s'),
    /** A command not reported within this lease (extended while its agent is alive) times out. */
    command_timeout: duration.default('10m'),
    /** How often offline nodes and expired commands are looked for. */
    monitor_interval: duration.default('15s'),
    /** How long remote directory listing and database discovery wait for the agent. */
    rpc_timeout: duration.default('15s'),
  }),
  log: z.strictObject({
    level: z.enum(['debug', 'info', 'warn', 'error', 'silent']).default('info'),
    file: z.string().default('./data/backupx.log'),
    max_size: z.coerce.number().int().min(1).default(100),
    max_backups: z.coerce.number().int().min(0).default(3),
    max_age: z.coerce.number().int().min(0).default(30),
    /** Also write JSON lines to stdout. */
    stdout: boolean.default(true),
  }),
});

export type MasterConfig = z.infer<typeof configSchema>;

/** Checks whether `ip` matches one of the trusted proxy entries. */
export const buildTrustedProxyMatcher = (entries: readonly string[]): ((ip: string) => boolean) => {
  const list = new BlockList();
  for (const entry of entries) {
    const [address = '', prefix] = entry.split('/');
    const family = isIP(address) === 6 ? 'ipv6' : 'ipv4';
    if (prefix === undefined) list.addAddress(address, family);
    else list.addSubnet(address, Number(prefix), family);
  }
  return (ip: string) => {
    const normalised = ip.startsWith('::ffff:') && isIP(ip.slice(7)) === 4 ? ip.slice(7) : ip;
    const family = isIP(normalised);
    if (family === 0) return false;
    return list.check(normalised, family === 6 ? 'ipv6' : 'ipv4');
  };
};
