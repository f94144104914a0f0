import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { CommandRunner, RunOptions } from '../../src/adapters/command-runner.js';
import { IptablesPortalFirewall } from '../../src/adapters/iptables-portal.js';
import { createLogger } from '../../src/adapters/pino-logger.js';
import { CommandError } from '../../src/core/errors.js';

/** Records calls; `iptables -C` fails with exit 1 (rule absent) until the rule was appended. */
class FakeRunner implements CommandRunner {
  readonly calls: { file: string; args: string[]; input?: string }[] = [];
  private readonly present = new Set<string>();
  run(file: string, args: readonly string[], opts: RunOptions = {}): Promise<{ stdout: string; stderr: string }> {
    this.calls.push({ file, args: [...args], input: opts.input });
    const key = args.filter((a) => !['-C', '-A', '-D'].includes(a)).join(' ');
    if (args.includes('-C') && !this.present.has(key)) return Promise.reject(new CommandError(file, args, 1, 'no rule', 'exit 1'));
    if (args.includes('-A')) this.present.add(key);
    if (args.includes('-D')) this.present.delete(key);
    return Promise.resolve({ stdout: '', stderr: '' });
  }
}

const spec = { lanIf: 'eth1', portalPort: 8081, spaUdpPort: null, walledGarden: [] };

test('start writes the chains, appends each jump once, and stop with flush removes everything', async () => {
  const runner = new FakeRunner();
  const fw = new IptablesPortalFirewall({ iptables: '/usr/sbin/iptables', runner, logger: createLogger('silent'), spec });
  await fw.start([{ ip: '10.0.0.5', mac: null }]);
  assert.equal(runner.calls[0].file, '/usr/sbin/iptables-restore');
  assert.deepEqual(runner.calls[0].args, ['-w', '5', '--noflush']);
  assert.match(runner.calls[0].input ?? '', /-A SPAGATE_PORTAL_NAT -s 10\.0\.0\.5\/32 -j RETURN/);
  assert.equal(runner.calls.filter((c) => c.args.includes('-A')).length, 5);
  await fw.start([]);
  assert.equal(runner.calls.filter((c) => c.args.includes('-A')).length, 5, 'a restart does not duplicate jumps');

  runner.calls.length = 0;
  await fw.stop({ flush: true });
  assert.equal(runner.calls.filter((c) => c.args.includes('-D')).length, 5);
  assert.equal(runner.calls.filter((c) => c.args.includes('-X')).length, 5);
});

test('stop without flush leaves the rules; exemption updates are coalesced', async () => {
  const runner = new FakeRunner();
  const fw = new IptablesPortalFirewall({ iptables: '/usr/sbin/iptables', runner, logger: createLogger('silent'), spec });
  await fw.start([]);
  runner.calls.length = 0;
  const a = fw.setExempt([{ ip: '10.0.0.1', mac: null }]);
  void fw.setExempt([{ ip: '10.0.0.2', mac: null }]);
  const c = fw.setExempt([{ ip: '10.0.0.3', mac: null }]);
  await Promise.all([a, c]);
  const restores = runner.calls.filter((x) => x.file.endsWith('-restore'));
  assert.ok(restores.length <= 2, `${restores.length} writes for three updates`);
  assert.match(restores.at(-1)?.input ?? '', /10\.0\.0\.3/);
  assert.doesNotMatch(restores.at(-1)?.input ?? '', /10\.0\.0\.2/);
  runner.calls.length = 0;
  await fw.stop({ flush: false });
  assert.deepEqual(runner.calls, []);
});
