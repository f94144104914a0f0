#!/usr/bin/env node
// Runs the test suites with node:test. Node 20 neither expands globs nor finds .ts files in a
// folder, so this script lists test/**/*.test.ts itself. Suites without shared state run in
// parallel; privileged suites (namespaces, real firewalls, real daemons) run one file at a time.
// Usage: node scripts/run-tests.mjs [suite ...]   (suites: unit adapters integration privileged web)
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const SERIAL = new Set(['privileged']);
const ALL = ['unit', 'adapters', 'integration', 'web', 'privileged'];
const wanted = process.argv.slice(2).length > 0 ? process.argv.slice(2) : ALL;

function find(dir) {
  let out = [];
  let entries;
  try {
    entries = readdirSync(dir);
  } catch {
    return out;
  }
  for (const e of entries.sort()) {
    const p = join(dir, e);
    if (statSync(p).isDirectory()) out = out.concat(find(p));
    else if (e.endsWith('.test.ts')) out.push(relative(root, p));
  }
  return out;
}

const outDir = mkdtempSync(join(tmpdir(), 'spagate-tests-'));
const totals = { pass: 0, fail: 0, skipped: 0, todo: 0 };
let failedRun = false;
if (process.getuid?.() !== 0 && wanted.includes('privileged')) {
  console.log('\n*** NOT ROOT: privileged tests (namespaces, iptables, nftables, fwknopd) will be SKIPPED ***\n');
}
for (const group of [wanted.filter((s) => !SERIAL.has(s)), wanted.filter((s) => SERIAL.has(s))]) {
  const files = group.flatMap((s) => find(join(root, 'test', s)));
  if (files.length === 0) continue;
  const tap = join(outDir, `${group.join('-')}.tap`);
  const args = ['--import', 'tsx', '--test', '--test-reporter=spec', '--test-reporter-destination=stdout',
    '--test-reporter=tap', `--test-reporter-destination=${tap}`];
  if (group.some((s) => SERIAL.has(s))) args.push('--test-concurrency=1');
  console.log(`\n== ${group.join(', ')}: ${files.length} file(s)`);
  const r = spawnSync(process.execPath, [...args, ...files], { cwd: root, stdio: 'inherit' });
  if (r.status !== 0) failedRun = true;
  const text = readFileSync(tap, 'utf8');
  for (const k of Object.keys(totals)) {
    const m = text.match(new RegExp(`^# ${k} (\\d+)$`, 'm'));
    if (m) totals[k] += Number(m[1]);
  }
}
console.log(`\n${totals.pass} passed, ${totals.fail} failed, ${totals.skipped} skipped`);
process.exit(failedRun || totals.fail > 0 ? 1 : 0);
