// End-to-end gateway benchmark: spagate and (where installed) the real fwknopd run through the
// same scenario of ../shared/bench/run.sh, one after the other, in throw-away network
// namespaces of their own; then one side-by-side table. Needs root. Prints figures only.
//
//   npm run bench -- gateway            full profile (≈ 11 min for both daemons)
//   npm run bench -- --quick gateway    short profile (≈ 4 min); or BENCH_QUICK=1
//   BENCH_DAEMONS=spagate               one daemon only; SPAGATE_BACKEND=iptables for the other backend
//   BENCH_FWKNOPD_FROM=DIR              reuse an earlier run's fwknopd results instead of measuring again
//   SHARED_BENCH_DIR=/path/to/bench     the harness (default ../shared/bench beside the project)
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join, resolve } from 'node:path';
import { TIME_LIMIT_S, harnessSettings, type Daemon, type Profile } from './lib/profiles.js';
import { loadRun, sideBySide, text, type RunResult } from './lib/table.js';

const root = resolve(new URL('../..', import.meta.url).pathname);
const harness = resolve(process.env.SHARED_BENCH_DIR ?? join(root, '..', 'shared', 'bench'));
const IP = '/usr/sbin/ip';
const profile: Profile = process.env.BENCH_QUICK === '1' || process.argv.includes('--quick') ? 'quick' : 'full';

function skip(why: string): never {
  console.log(`gateway bench skipped: ${why}`);
  process.exit(0);
}

if (process.getuid?.() !== 0) skip('needs root (network namespaces, iptables, nftables)');
if (!existsSync(join(harness, 'run.sh'))) skip(`no harness at ${harness} (set SHARED_BENCH_DIR)`);
if (!existsSync(join(root, 'dist', 'cli', 'main.js'))) skip('dist/ missing: run npm run build first');

const haveFwknopd = existsSync('/usr/sbin/fwknopd') && existsSync('/usr/bin/fwknop');
const wanted = (process.env.BENCH_DAEMONS ?? 'spagate fwknopd').split(/\s+/).filter(Boolean) as Daemon[];
const daemons = wanted.filter((d) => d === 'spagate' || (d === 'fwknopd' && haveFwknopd));
if (wanted.includes('fwknopd') && !haveFwknopd) console.log('fwknopd (Debian fwknop-server) not installed: spagate column only');

const stamp = new Date().toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
const outRoot = join(root, 'test-output', 'bench', `gateway-${stamp}`);
mkdirSync(outRoot, { recursive: true });
// Namespace names must start with "pb" (the harness refuses to delete others); a per-run tag
// keeps this run clear of any other copy of the harness on the machine.
const tag = `pb${(process.pid % 0xffff).toString(16)}`;
const ns = { PB_NS_LAN: `${tag}l`, PB_NS_GW: `${tag}g`, PB_NS_WAN: `${tag}w` };

function removeNamespaces(): void {
  for (const name of Object.values(ns)) {
    try {
      execFileSync(IP, ['netns', 'del', name], { stdio: 'ignore', timeout: 10_000 });
    } catch {
      // already gone: run.sh deletes them on its own exit
    }
  }
}

let current: ReturnType<typeof spawn> | null = null;
function stopCurrent(signal: NodeJS.Signals): void {
  if (current?.pid) {
    try {
      process.kill(-current.pid, signal); // run.sh leads its own process group
    } catch {
      // already exited
    }
  }
}
for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.on(sig, () => {
    stopCurrent('SIGTERM');
    setTimeout(() => {
      stopCurrent('SIGKILL');
      removeNamespaces();
      process.exit(130);
    }, 8000).unref();
  });
}

function runHarness(daemon: Daemon, first: boolean): Promise<string> {
  const out = join(outRoot, daemon);
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    ...harnessSettings(profile, daemon, first),
    ...ns,
    OUT_DIR: out,
    DAEMON_ADAPTER: join(root, 'scripts', 'bench', 'adapters', `${daemon}.sh`),
    SPAGATE_DIR: root,
  };
  const limit = TIME_LIMIT_S[profile][daemon];
  console.log(`\n--- ${daemon}: ../shared/bench/run.sh, profile ${profile}, at most ${limit} s; raw results in ${out}`);
  return new Promise((done) => {
    const child = spawn('/usr/bin/bash', [join(harness, 'run.sh')], { cwd: root, env, detached: true, stdio: ['ignore', 'inherit', 'inherit'] });
    current = child;
    const t = setTimeout(() => {
      console.log(`${daemon}: time limit of ${limit} s reached, stopping the harness`);
      stopCurrent('SIGTERM');
      setTimeout(() => stopCurrent('SIGKILL'), 15_000).unref();
    }, limit * 1000);
    child.on('exit', (code) => {
      clearTimeout(t);
      current = null;
      if (code !== 0) console.log(`${daemon}: harness exited with ${String(code)}`);
      removeNamespaces();
      done(out);
    });
  });
}

const t0 = Date.now();
const runs: Partial<Record<Daemon, RunResult | null>> = {};
// fwknopd does not change between runs: BENCH_FWKNOPD_FROM=<an earlier run's fwknopd folder>
// puts its figures in the table instead of spending ~7 minutes measuring them again.
const reuse = process.env.BENCH_FWKNOPD_FROM;
if (reuse) {
  runs.fwknopd = loadRun(reuse);
  console.log(`fwknopd figures taken from ${reuse}${runs.fwknopd ? '' : ' (unreadable)'}`);
}
const toRun = daemons.filter((d) => !(reuse && d === 'fwknopd'));
for (const [i, d] of toRun.entries()) runs[d] = loadRun(await runHarness(d, i === 0));

const cpu = cpus();
const header = [
  `Gateway benchmark, profile ${profile}, ${new Date().toISOString()}; ${Math.round((Date.now() - t0) / 1000)} s in all`,
  `machine: ${cpu.length} × ${cpu[0]?.model ?? '?'}, ${(totalmem() / 2 ** 30).toFixed(1)} GiB, node ${process.version}`,
  `spagate: ${text(runs.spagate?.meta.daemon_version, '–')}`,
  `fwknopd: ${text(runs.fwknopd?.meta.daemon_version, 'not run')}${reuse ? ` (from ${reuse}, started ${text(runs.fwknopd?.meta.started_utc, '?')})` : ''}`,
  `raw results: ${outRoot}/<daemon>/ (results.jsonl, summary.md)`,
].join('\n');
const table = sideBySide(runs.spagate ?? null, runs.fwknopd ?? null);
writeFileSync(join(outRoot, 'table.md'), `${header}\n\n${table}\n`);
console.log(`\n${header}\n\n${table}\n`);
console.log('ratio: spagate ÷ fwknopd of the medians (below 1 is faster / less for spagate). Timings on shared machines are noisy.');
