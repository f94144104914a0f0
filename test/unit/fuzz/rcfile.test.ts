/**
 * Issue 8, bad input: the client rc-file parser (~/.fwknoprc) and the settings it feeds, as
 * `spagate knock` applies them. Whatever the text: parsing never throws, every entry has an
 * upper-case keyword and a line, and applying a value either works or fails with a
 * SettingError/UsageError whose message is not empty and never echoes a key.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { UsageError } from '../../../src/cli/io.js';
import { applySetting, defaultSettings, SettingError } from '../../../src/cli/knock-settings.js';
import { parseRcText, RC_KEYWORDS, selectRcEntries } from '../../../src/cli/rcfile.js';
import { HMAC_B64, KEY_B64 } from '../config/helpers.js';
import { parserInput, RUNS } from './mutate.js';

const SAMPLES = [
  `[default]\nDIGEST_TYPE sha256\nSPA_SERVER_PORT 62201\n\n[gw]\nSPA_SERVER 10.0.0.1\nACCESS tcp/22\nALLOW_IP source\nKEY_BASE64 ${KEY_B64}\nHMAC_KEY_BASE64 ${HMAC_B64}\nUSE_HMAC Y\nFW_TIMEOUT 30\n`,
  `# comment\n[gw]\nSPA_SERVER: gate.example ; trailing\nNAT_ACCESS 10.0.0.5,22\nENCRYPTION_MODE CBC\nHMAC_DIGEST_TYPE sha512\nKEY passphrase\nHMAC_KEY hmacpass\nTIME_OFFSET_PLUS 5m\nSPA_SOURCE_PORT 0\nRAND_PORT N\n`,
  `[other]\nSPA_SERVER 192.0.2.1\n[GW]\nSPA_SERVER_PROTO udp\nACCESS udp/53,tcp/443\nALLOW_IP 10.1.2.3\nKEY_BASE64 ${KEY_B64}\n`,
];

/** Returns the rejected settings' messages. */
function apply(text: string, named: string | null): string[] {
  const rejected: string[] = [];
  const stanzas = parseRcText(text);
  for (const s of stanzas) for (const e of s.entries) {
    assert.equal(e.keyword, e.keyword.toUpperCase());
    assert.ok(Number.isInteger(e.line) && e.line >= 1);
  }
  const { entries } = selectRcEntries(stanzas, named);
  const settings = defaultSettings();
  for (const e of entries) {
    if (!RC_KEYWORDS.has(e.keyword) || e.value === null) continue; // knock refuses these with a ConfigError
    try {
      applySetting(settings, e.keyword, e.value);
    } catch (err) {
      assert.ok(err instanceof SettingError || err instanceof UsageError, `unexpected ${String(err)} for ${e.keyword}`);
      assert.ok(err.message.trim().length > 0, 'every rejection has a reason');
      if (/KEY/.test(e.keyword) && e.value.length >= 8) assert.ok(!err.message.includes(e.value), 'a key value is never echoed');
      rejected.push(err.message);
    }
  }
  return rejected;
}

test('rc samples apply cleanly', () => {
  for (const s of SAMPLES) assert.deepEqual(apply(s, 'gw'), [], s);
});

test('rc file: mutated and junk text never throws out of the parser; bad values fail with a reason', { timeout: 60_000 }, () => {
  fc.assert(fc.property(parserInput(SAMPLES), fc.constantFrom('gw', 'default', null, 'GW', 'missing'), (text, named) => {
    apply(text, named);
  }), RUNS);
});

test('rc file: any keyword with any value', { timeout: 60_000 }, () => {
  const keyword = fc.oneof(fc.constantFrom(...RC_KEYWORDS), fc.string({ maxLength: 12 }));
  const value = fc.oneof(fc.string({ maxLength: 80 }), fc.string({ unit: 'binary', maxLength: 80 }), fc.base64String({ maxLength: 200 }));
  fc.assert(
    fc.property(fc.array(fc.tuple(keyword, value), { maxLength: 20 }), (pairs) => {
      apply(`[gw]\n${pairs.map(([k, v]) => `${k} ${v}`).join('\n')}\n`, 'gw');
    }),
    RUNS,
  );
});
