/**
 * The three-namespace network of the end-to-end tests (plus an optional internal host):
 *
 *   lan (client)  10.77.1.2/24 --- 10.77.1.1/24  gw (gateway)  203.0.113.1/24 --- 203.0.113.2/24  wan (host)
 *                                  10.77.2.1/24 --- 10.77.2.2/24  int (internal host, optional)
 *
 * The gateway forwards with `iptables -P FORWARD DROP`; the WAN host has no route back to the
 * LAN, so a LAN client only reaches it through SNAT/MASQUERADE. All addresses live inside the
 * test's own namespaces; nothing is linked to the root namespace.
 */
import { fileURLToPath } from 'node:url';
import { Netns } from './netns.js';

export const NET_TOOLS = fileURLToPath(new URL('./net-tools.mjs', import.meta.url));

export interface Topology {
  ns: Netns;
  lan: string;
  gw: string;
  wan: string;
  int: string | null;
  lanIf: string;
  gwLanIf: string;
  gwWanIf: string;
  addr: { client: string; gwLan: string; gwWan: string; wan: string; gwInt: string; int: string };
}

export function buildTopology(opts: { internal?: boolean; forwardPolicy?: 'DROP' | 'ACCEPT' } = {}): Topology {
  const ns = new Netns();
  try {
    const lan = ns.add('lan');
    const gw = ns.add('gw');
    const wan = ns.add('wan');
    const l = ns.link(lan, 'l0', '10.77.1.2/24', gw, 'g0', '10.77.1.1/24');
    const w = ns.link(gw, 'g1', '203.0.113.1/24', wan, 'w0', '203.0.113.2/24');
    ns.exec(lan, '/usr/sbin/ip', ['route', 'add', 'default', 'via', '10.77.1.1']);
    let int: string | null = null;
    if (opts.internal) {
      int = ns.add('int');
      ns.link(gw, 'g2', '10.77.2.1/24', int, 'i0', '10.77.2.2/24');
      ns.exec(int, '/usr/sbin/ip', ['route', 'add', 'default', 'via', '10.77.2.1']);
    }
    ns.exec(gw, '/usr/sbin/sysctl', ['-qw', 'net.ipv4.ip_forward=1']);
    ns.exec(gw, '/usr/sbin/iptables', ['-P', 'FORWARD', opts.forwardPolicy ?? 'DROP']);
    return {
      ns,
      lan,
      gw,
      wan,
      int,
      lanIf: l.a,
      gwLanIf: l.b,
      gwWanIf: w.a,
      addr: { client: '10.77.1.2', gwLan: '10.77.1.1', gwWan: '203.0.113.1', wan: '203.0.113.2', gwInt: '10.77.2.1', int: '10.77.2.2' },
    };
  } catch (e) {
    void ns.cleanup();
    throw e;
  }
}

/** Start the TCP "who am I" listener in a namespace and wait until it listens. */
export async function startListener(t: Topology, nsName: string, port: number): Promise<void> {
  const child = t.ns.spawn(nsName, process.execPath, [NET_TOOLS, 'listen', String(port)]);
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('listener did not start')), 5000);
    child.stdout?.on('data', (b: Buffer) => {
      if (b.toString().includes('listening')) {
        clearTimeout(timer);
        resolve();
      }
    });
  });
}

/** TCP connect from a namespace; returns the address the server saw, or null when blocked. */
export function connectFrom(t: Topology, nsName: string, host: string, port: number, ms = 700): string | null {
  const r = t.ns.try(nsName, process.execPath, [NET_TOOLS, 'connect', host, String(port), String(ms)]);
  return r.status === 0 ? r.stdout.trim() : null;
}
