import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SPA_SNAPLEN } from '../../src/adapters/cap-capture.js';
import { Netns, requireRoot, IP } from '../helpers/netns.js';

const ROOT = new URL('../..', import.meta.url).pathname;
const CHILD = new URL('./capture-child.ts', import.meta.url).pathname;
const GW_ADDR = '10.77.0.1';
const CL_ADDR = '10.77.0.2';

interface Line {
  event: string;
  [k: string]: unknown;
}

/** Collects the child's JSON lines and lets a test wait (bounded) for one that matches. */
class Lines {
  readonly all: Line[] = [];
  private waiters: (() => void)[] = [];
  stderr = '';
  exited: number | null = null;

  constructor(child: ChildProcess) {
    let buf = '';
    child.stdout!.setEncoding('utf8');
    child.stdout!.on('data', (chunk: string) => {
      buf += chunk;
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        if (line.startsWith('{')) this.all.push(JSON.parse(line) as Line);
      }
      this.wake();
    });
    child.stderr!.setEncoding('utf8');
    child.stderr!.on('data', (c: string) => {
      this.stderr += c;
    });
    child.on('exit', (code, signal) => {
      this.exited = code ?? (signal ? 128 : -1);
      this.wake();
    });
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  async waitFor(pred: (l: Line) => boolean, ms: number, what: string): Promise<Line> {
    const deadline = Date.now() + ms;
    for (;;) {
      const hit = this.all.find(pred);
      if (hit) return hit;
      if (this.exited !== null)
        throw new Error(`child exited (${this.exited}) before ${what}; stderr: ${this.stderr}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out waiting for ${what}; stderr: ${this.stderr}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, Math.min(left, 200));
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }
}

function setup(): { ns: Netns; gw: string; cl: string; gwIf: string; clIf: string } {
  const ns = new Netns();
  const gw = ns.add('gw');
  const cl = ns.add('cl');
  const { a: gwIf, b: clIf } = ns.link(gw, 'g0', `${GW_ADDR}/24`, cl, 'c0', `${CL_ADDR}/24`);
  return { ns, gw, cl, gwIf, clIf };
}

function startChild(ns: Netns, gw: string, opts: object): Lines {
  const child = ns.spawn(
    gw,
    process.execPath,
    ['--expose-gc', '--import', 'tsx', CHILD, JSON.stringify(opts)],
    { cwd: ROOT },
  );
  return new Lines(child);
}

/** Sends datagrams from the client namespace; prints the time just before the last send. */
function send(ns: Netns, cl: string, packets: { port: number; payload: string; count?: number }[]): number {
  const script = `
    const dgram = require('node:dgram');
    const list = ${JSON.stringify(packets)};
    const s = dgram.createSocket('udp4');
    s.bind(40001, '${CL_ADDR}', async () => {
      let last = 0;
      for (const p of list) {
        for (let i = 0; i < (p.count ?? 1); i++) {
          last = Date.now();
          await new Promise((r, j) => s.send(Buffer.from(p.payload), p.port, '${GW_ADDR}', (e) => (e ? j(e) : r())));
        }
      }
      console.log(last);
      s.close();
    });`;
  return Number(ns.exec(cl, process.execPath, ['-e', script]).trim());
}

function macOf(ns: Netns, netns: string, dev: string): string {
  const info = JSON.parse(ns.exec(netns, IP, ['-j', 'link', 'show', 'dev', dev])) as { address: string }[];
  return info[0].address;
}

test(
  'CapPacketSource delivers MAC, addresses, ports and payload when a datagram arrives on an Ethernet link',
  { timeout: 60_000 },
  async (t) => {
    if (!requireRoot(t)) return;
    const { ns, gw, cl, gwIf, clIf } = setup();
    try {
      const lines = startChild(ns, gw, { interface: gwIf, filter: 'udp port 62201' });
      const ready = await lines.waitFor((l) => l.event === 'ready', 20_000, 'ready');
      assert.equal(ready.linkType, 'ethernet');
      const payload = 'spa-test-payload-' + 'x'.repeat(150);
      // First a datagram the filter must keep out, then the real one.
      const sentAt = send(ns, cl, [
        { port: 9999, payload: 'filtered-out' },
        { port: 62201, payload },
      ]);
      const p = await lines.waitFor((l) => l.event === 'packet', 10_000, 'the packet');
      assert.equal(p.srcMac, macOf(ns, cl, clIf));
      assert.equal(p.srcIp, CL_ADDR);
      assert.equal(p.dstIp, GW_ADDR);
      assert.equal(p.srcPort, 40001);
      assert.equal(p.dstPort, 62201);
      assert.equal(p.proto, 17);
      assert.equal(Buffer.from(p.payload as string, 'hex').toString(), payload);
      // Immediate mode: without it libpcap holds packets for up to the 1 s read timeout.
      const latency = (p.receivedAt as number) - sentAt;
      assert.ok(latency < 300, `packet took ${latency} ms to arrive`);
      await new Promise((r) => setTimeout(r, 200));
      assert.equal(
        lines.all.filter((l) => l.event === 'packet').length,
        1,
        'the filter let port 9999 through',
      );
    } finally {
      await ns.cleanup();
    }
  },
);

test(
  'CapPacketSource reads the MAC from the cooked header when capturing on any',
  { timeout: 60_000 },
  async (t) => {
    if (!requireRoot(t)) return;
    const { ns, gw, cl, clIf } = setup();
    try {
      const lines = startChild(ns, gw, { interface: 'any', filter: 'udp port 62201' });
      const ready = await lines.waitFor((l) => l.event === 'ready', 20_000, 'ready');
      assert.ok(ready.linkType === 'sll' || ready.linkType === 'sll2', `link type ${String(ready.linkType)}`);
      send(ns, cl, [{ port: 62201, payload: 'over-any' }]);
      const p = await lines.waitFor((l) => l.event === 'packet', 10_000, 'the packet');
      assert.equal(p.srcMac, macOf(ns, cl, clIf));
      assert.equal(p.srcIp, CL_ADDR);
      assert.equal(p.dstIp, GW_ADDR);
      assert.equal(Buffer.from(p.payload as string, 'hex').toString(), 'over-any');
    } finally {
      await ns.cleanup();
    }
  },
);

test(
  'CapPacketSource fails with a CaptureError when the interface does not exist or the filter is invalid',
  { timeout: 60_000 },
  async (t) => {
    if (!requireRoot(t)) return;
    const { ns, gw, gwIf } = setup();
    try {
      const noIf = startChild(ns, gw, { interface: 'nosuch0', filter: 'udp port 62201' });
      const badFilter = startChild(ns, gw, { interface: gwIf, filter: 'udp port and' });
      const e1 = await noIf.waitFor((l) => l.event === 'error', 20_000, 'the interface error');
      const e2 = await badFilter.waitFor((l) => l.event === 'error', 20_000, 'the filter error');
      assert.equal(e1.name, 'CaptureError');
      assert.equal(e1.code, 'SG_CAPTURE');
      assert.match(e1.message as string, /"nosuch0": no such interface/);
      assert.equal(e2.name, 'CaptureError');
      assert.match(e2.message as string, /invalid capture filter "udp port and"/);
      // The child collected garbage after the failure: a clean exit shows the failed handle did not abort it.
      for (const l of [noIf, badFilter]) {
        const deadline = Date.now() + 5000;
        while (l.exited === null && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
        assert.equal(l.exited, 0, l.stderr);
      }
    } finally {
      await ns.cleanup();
    }
  },
);

test(
  'CapPacketSource delivers a marker datagram when it follows a burst of junk',
  { timeout: 90_000 },
  async (t) => {
    if (!requireRoot(t)) return;
    const { ns, gw, cl, gwIf } = setup();
    try {
      const lines = startChild(ns, gw, { interface: gwIf, filter: 'udp port 62201', quietPrefix: 'JJJJ' });
      await lines.waitFor((l) => l.event === 'ready', 20_000, 'ready');
      const junk = 'J'.repeat(200);
      const marker = Buffer.from('marker-after-burst').toString('hex');
      send(ns, cl, [
        { port: 62201, payload: junk, count: 5000 },
        { port: 62201, payload: 'marker-after-burst' },
      ]);
      const m = await lines.waitFor(
        (l) => l.event === 'packet' && l.payload === marker,
        15_000,
        'the marker',
      );
      assert.equal(lines.all.filter((l) => l.event === 'packet').length, 1, 'junk was printed');
      t.diagnostic(`junk datagrams delivered before the marker: ${String(m.quietCount)} of 5000`);
    } finally {
      await ns.cleanup();
    }
  },
);

test(
  'CapPacketSource with spaPrefilter lets the kernel drop what precheck would reject, and keeps a real-looking knock',
  { timeout: 60_000 },
  async (t) => {
    if (!requireRoot(t)) return;
    const { ns, gw, cl, gwIf } = setup();
    try {
      const lines = startChild(ns, gw, { interface: gwIf, filter: 'udp port 62201', spaPrefilter: true });
      await lines.waitFor((l) => l.event === 'ready', 20_000, 'ready');
      const knock = '8' + 'A'.repeat(199);
      send(ns, cl, [
        { port: 62201, payload: 'J'.repeat(200) }, // not a Rijndael start
        { port: 62201, payload: '8'.repeat(139) }, // too short
        { port: 62201, payload: '8'.repeat(1500) }, // too long
        { port: 62201, payload: knock },
        { port: 62201, payload: '/'.repeat(1400) }, // (1499 would need IP fragments on this link)
      ]);
      await lines.waitFor((l) => l.event === 'packet' && (l.payload as string).length === 1400 * 2, 10_000, 'the last packet');
      await new Promise((r) => setTimeout(r, 200));
      const got = lines.all.filter((l) => l.event === 'packet').map((l) => Buffer.from(l.payload as string, 'hex').toString());
      assert.deepEqual(got, [knock, '/'.repeat(1400)]);
    } finally {
      await ns.cleanup();
    }
  },
);

test(
  'CapPacketSource with the patched binding: 2 KiB ring slots, so a 4 MiB ring holds a burst of 1,500 knocks that arrives while nothing reads',
  { timeout: 90_000 },
  async (t) => {
    if (!requireRoot(t)) return;
    const { ns, gw, cl, gwIf } = setup();
    const dir = mkdtempSync(join(tmpdir(), 'sg-ring-'));
    const go = join(dir, 'go');
    try {
      // veth has TSO and GSO on: with cap's own 65535 snapshot length libpcap makes 64 KiB
      // slots, and 4 MiB holds 64 packets.
      const lines = startChild(ns, gw, {
        interface: gwIf,
        filter: 'udp port 62201',
        bufferSize: 4 * 1024 * 1024,
        quietPrefix: 'JJJJ',
        stallUntilFile: go,
      });
      const ready = await lines.waitFor((l) => l.event === 'ready', 20_000, 'ready');
      assert.equal(ready.snaplen, SPA_SNAPLEN, 'the cap binding is not patched (scripts/patch-cap.mjs)');
      await lines.waitFor((l) => l.event === 'stalling', 20_000, 'the stall');
      send(ns, cl, [{ port: 62201, payload: 'J'.repeat(200), count: 1500 }]);
      writeFileSync(go, '');
      await lines.waitFor((l) => l.event === 'reading', 20_000, 'the end of the stall');
      send(ns, cl, [{ port: 62201, payload: 'marker-after-stall' }]);
      const m = await lines.waitFor(
        (l) => l.event === 'packet' && l.payload === Buffer.from('marker-after-stall').toString('hex'),
        15_000,
        'the marker',
      );
      assert.equal(m.quietCount, 1500, 'knocks lost in the ring');
    } finally {
      rmSync(dir, { recursive: true, force: true });
      await ns.cleanup();
    }
  },
);
