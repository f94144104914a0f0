/**
 * Lease following through the composition root: a real lease file in a temp folder, the
 * LeaseFileWatcher reading it, the LeaseGuard ending grants on the in-process gateway.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LeaseFileWatcher } from '../../src/adapters/lease-file-watcher.js';
import { createLogger } from '../../src/adapters/pino-logger.js';
import { LeaseGuard } from '../../src/lease-guard.js';
import { NOW, startInProcess } from '../helpers/in-process-gateway.js';

const MAC = '02:00:00:00:00:09'; // what in-process packets carry
const EXP = Math.floor(NOW / 1000) + 600;

async function until(what: string, f: () => boolean): Promise<void> {
  const end = Date.now() + 8000;
  while (!f()) {
    if (Date.now() > end) throw new Error(`timed out: ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

test('a grant ends when its address is leased to another MAC, and when its lease is released', { timeout: 30_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'spagate-leases-'));
  const file = join(dir, 'dnsmasq.leases');
  writeFileSync(file, `${EXP} ${MAC} 10.0.0.9 laptop *\n`);
  const logger = createLogger('silent');
  const watcher = new LeaseFileWatcher({ file, format: 'dnsmasq', logger, pollMs: 100, settleMs: 20 });
  let gw;
  try {
    gw = await startInProcess({ services: [] });
    // The guard needs the gateway's clock; it is started by hand like the daemon would.
    const guard = new LeaseGuard(watcher, gw.clock, logger);
    await guard.start(gw.running.gateway);
    assert.equal(watcher.hostnameFor('10.0.0.9'), 'laptop');
    const g = gw.running.gateway;

    gw.knock({ src: '10.0.0.9' });
    await gw.settle();
    await until('grant', () => g.liveGrants().length === 1);
    assert.equal(g.liveGrants()[0].rules.mac, MAC);

    writeFileSync(file, `${EXP} 02:00:00:00:00:0a 10.0.0.9 other *\n`);
    await until('grant ended after the lease moved', () => g.liveGrants().length === 0);
    await g.events.flush();
    const ended = (await gw.store.listEvents({ limit: 10, outcome: 'ended' }))[0];
    assert.match(ended.detail ?? '', /^lease_other_mac: DHCP lease of 10\.0\.0\.9 now belongs to 02:00:00:00:00:0a/);
    assert.deepEqual(await gw.firewall.listInstalled(), [], 'its rules are gone');

    writeFileSync(file, `${EXP} ${MAC} 10.0.0.9 laptop *\n`);
    await until('lease back', () => watcher.macFor('10.0.0.9') === MAC);
    gw.knock({ src: '10.0.0.9' });
    await gw.settle();
    await until('second grant', () => g.liveGrants().length === 1);
    writeFileSync(file, '');
    await until('grant ended after release', () => g.liveGrants().length === 0);
    await g.events.flush();
    const released = (await gw.store.listEvents({ limit: 10, outcome: 'ended' }))[0];
    assert.match(released.detail ?? '', /^lease_released: /);
    await guard.stop();
  } finally {
    await gw?.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});
