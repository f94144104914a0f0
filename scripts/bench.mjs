#!/usr/bin/env node
// `npm run bench`: runs every benchmark under scripts/bench/ in turn and prints its figures.
// Benchmarks print; they never assert timings (these machines are noisy).
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const only = process.argv.slice(2);
const dir = join(root, 'scripts', 'bench');
const files = readdirSync(dir).filter((f) => /\.(ts|mjs)$/.test(f) && !f.startsWith('_')).sort()
  .filter((f) => only.length === 0 || only.some((o) => f.includes(o)));
let failed = 0;
for (const f of files) {
  console.log(`\n### ${f}`);
  const r = spawnSync(process.execPath, ['--import', 'tsx', join(dir, f)], { cwd: root, stdio: 'inherit' });
  if (r.status !== 0) failed++;
}
process.exit(failed ? 1 : 0);
