import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { CODEC_REASONS, CODEC_REASON_DESCRIPTIONS, isCodecReason } from '../../../src/core/spa/reasons.js';

test('every codec reason has a description and a row in docs/spa-codec.md', () => {
  const doc = readFileSync(new URL('../../../docs/spa-codec.md', import.meta.url), 'utf8');
  assert.equal(new Set(CODEC_REASONS).size, CODEC_REASONS.length);
  for (const r of CODEC_REASONS) {
    assert.ok(CODEC_REASON_DESCRIPTIONS[r].length > 10, r);
    assert.match(doc, new RegExp(`\\| +\`${r}\` +\\|`), `docs/spa-codec.md lacks ${r}`);
    assert.ok(isCodecReason(r));
  }
  assert.equal(Object.keys(CODEC_REASON_DESCRIPTIONS).length, CODEC_REASONS.length);
  assert.equal(isCodecReason('granted'), false);
});
