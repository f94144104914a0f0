import { lookup } from 'node:dns/promises';

/**
 * Resolves a NAT hostname to its first IPv4 address (fwknopd's ENABLE_NAT_DNS), never
 * waiting longer than `timeoutMs`: the packet loop does not wait on it anyway, but a grant
 * should not hang on a dead resolver.
 */
export function makeResolver(timeoutMs = 2000): (host: string) => Promise<string | null> {
  return async (host) => {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<null>((r) => {
      timer = setTimeout(() => r(null), timeoutMs);
    });
    try {
      return await Promise.race([lookup(host, { family: 4 }).then((a) => a.address), timeout]);
    } catch {
      return null;
    } finally {
      clearTimeout(timer);
    }
  };
}
