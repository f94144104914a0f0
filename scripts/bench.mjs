#!/usr/bin/env node
// `npm run bench [-- --quick] [name ...]`: runs every benchmark under scripts/bench/ in turn and
// prints its figures; the end-to-end side-by-side table (gateway.ts) comes last. `--quick` (or
// BENCH_QUICK=1) picks each benchmark's short profile. Benchmarks print; they never assert
// timings (these machines are noisy).
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const args = process.argv.slice(2);
const quick = args.includes('--quick') || process.env.BENCH_QUICK === '1';
const only = args.filter((a) => !a.startsWith('--'));
const dir = join(root, 'scripts', 'bench');
const last = (f) => (f.startsWith('gateway.') ? 1 : 0);
const files = readdirSync(dir)
  .filter((f) => /\.(ts|mjs)$/.test(f) && !f.startsWith('_'))
  .sort((a, b) => last(a) - last(b) || a.localeCompare(b))
  .filter((f) => only.length === 0 || only.some((o) => f.includes(o)));
const env = { ...process.env, ...(quick ? { BENCH_QUICK: '1' } : {}) };
let failed = 0;
for (const f of files) {
  console.log(`\n### ${f}${quick ? ' (quick)' : ''}`);
  const r = spawnSync(process.execPath, ['--import', 'tsx', join(dir, f)], { cwd: root, stdio: 'inherit', env });
  if (r.status !== 0) failed++;
}
process.exit(failed ? 1 : 0);
