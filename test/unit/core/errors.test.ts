import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((e) => {
    const p = join(dir, e);
    return statSync(p).isDirectory() ? sources(p) : p.endsWith('.ts') ? [p] : [];
  });
}

test('every error code raised in src is documented in docs/errors.md', () => {
  const codes = new Set<string>();
  for (const f of sources('src')) for (const m of readFileSync(f, 'utf8').matchAll(/'(SG_[A-Z_]+)'/g)) codes.add(m[1]);
  assert.ok(codes.size >= 5, `found codes: ${[...codes].join(', ')}`);
  const doc = readFileSync('docs/errors.md', 'utf8');
  for (const c of codes) assert.ok(doc.includes(`\`${c}\``), `${c} is missing from docs/errors.md`);
});
