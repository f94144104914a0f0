import { readFile } from 'node:fs/promises';

/**
 * The kernel's IPv4 neighbour table as /proc/net/arp shows it: the MAC behind a LAN address
 * that has talked to the gateway. Only complete entries (flag ATF_COM) count.
 */
export function parseProcNetArp(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of text.split('\n').slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f.length < 6) continue;
    const [ip, , flags, mac] = f;
    if ((parseInt(flags, 16) & 0x2) === 0 || !/^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/i.test(mac) || mac === '00:00:00:00:00:00') continue;
    out.set(ip, mac.toLowerCase());
  }
  return out;
}

export async function neighbourMac(ip: string, file = '/proc/net/arp'): Promise<string | null> {
  try {
    return parseProcNetArp(await readFile(file, 'utf8')).get(ip) ?? null;
  } catch {
    return null;
  }
}
