/**
 * What the heartbeat tells the master about this machine (SPEC §11.3). Names follow Go's
 * GOOS/GOARCH, as BackupX agents report them and the master's install script expects them.
 */
import os from 'node:os';

const goArch: Record<string, string> = {
  x64: 'amd64',
  arm64: 'arm64',
  ia32: '386',
  arm: 'arm',
  ppc64: 'ppc64le',
};
const goOs: Record<string, string> = { win32: 'windows', sunos: 'solaris' };

export const goArchOf = (arch: string): string => goArch[arch] ?? arch;
export const goOsOf = (platform: string): string => goOs[platform] ?? platform;

/** The first non-internal IPv4 address (interfaces in the order the OS lists them), or ''. */
export const primaryIpv4 = (
  interfaces: NodeJS.Dict<os.NetworkInterfaceInfo[]> = os.networkInterfaces(),
): string => {
  for (const addresses of Object.values(interfaces)) {
    for (const address of addresses ?? []) {
      if (address.family === 'IPv4' && !address.internal) return address.address;
    }
  }
  return '';
};

export interface SystemInfo {
  hostname: string;
  ipAddress: string;
  os: string;
  arch: string;
}

/** Read on every heartbeat: addresses change (DHCP, VPN up), the hostname rarely. */
export const systemInfo = (): SystemInfo => ({
  hostname: os.hostname(),
  ipAddress: primaryIpv4(),
  os: goOsOf(process.platform),
  arch: goArchOf(process.arch),
});
