/**
 * Issue 8, bad input: property-based fuzzing of the fwknopd.conf and access.conf parsers
 * (through compileConfig, which is what `spagate start` and SIGHUP run). Whatever the text,
 * compiling never throws, and the outcome is either a frozen config with no errors or no
 * config and at least one error, each naming a file and carrying a message.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { compileConfig } from '../../../src/config/compile.js';
import { parseConfigText } from '../../../src/config/syntax.js';
import { memorySources } from '../../../src/config/sources.js';
import type { CompileResult } from '../../../src/config/compile.js';
import { ACCESS, CONF, HMAC_B64, KEY_B64, NOW, stanza } from '../config/helpers.js';
import { parserInput, RUNS } from './mutate.js';

const repo = (p: string): string => readFileSync(new URL(`../../../${p}`, import.meta.url), 'utf8');
const withKeys = (s: string): string => s.replace(/KEY_BASE64(\s+)__CHANGEME__/, `KEY_BASE64$1${KEY_B64}`).replace(/HMAC_KEY_BASE64(\s+)__CHANGEME__/, `HMAC_KEY_BASE64$1${HMAC_B64}`);

const FWKNOPD_SAMPLES = [
  repo('conf/fwknopd.conf'),
  repo('conf/docker/fwknopd.conf'),
  'PCAP_INTF eth1;\nENABLE_IPT_FORWARDING Y;\nENABLE_IPT_SNAT Y;\nSNAT_TRANSLATE_IP 203.0.113.1;\nFIREWALL_BACKEND nftables;\nMAX_SPA_PACKET_AGE 60;\nIPT_FORWARD_ACCESS ACCEPT, filter, FORWARD, 1, FWKNOP_FORWARD, 1;\n',
  'ENABLE_UDP_SERVER Y\nENABLE_IPT_FORWARDING Y\nENABLE_IPT_SNAT Y\nUDPSERV_PORT 62201\nFLUSH_IPT_AT_EXIT Y\nDASHBOARD_LISTEN off\nLOG_LEVEL debug\n',
];
const ACCESS_SAMPLES = [
  withKeys(repo('conf/access.conf')),
  stanza('10.0.0.0/8', 'FW_ACCESS_TIMEOUT 3600\nFORWARD_ALL Y\nDISABLE_DNAT Y\n'),
  `${stanza('192.168.1.0/24, 10.1.1.1', 'OPEN_PORTS tcp/22, udp/53\nENCRYPTION_MODE CBC\nHMAC_DIGEST_TYPE SHA512\nACCESS_EXPIRE 01/01/2030\n')}\n${stanza('ANY', 'REQUIRE_USERNAME bob\nFORCE_NAT 10.0.0.5 22\nMAX_FW_TIMEOUT 600\n')}`,
  'SOURCE ANY\nKEY passphrase1\nHMAC_KEY hmacpass\nFORCE_SNAT 203.0.113.9\nFORWARD_ALL Y\n',
];

function checkResult(r: CompileResult): void {
  if (r.config) {
    assert.equal(r.errors.length, 0, 'a config is only produced without errors');
    assert.ok(Object.isFrozen(r.config), 'the config is frozen');
    for (const s of r.config.stanzas) {
      assert.ok(s.key.length > 0, 'every stanza has a key');
      assert.ok(s.source.length > 0, 'every stanza has a SOURCE');
      assert.ok(s.fwAccessTimeout > 0 && Number.isFinite(s.fwAccessTimeout));
    }
  } else {
    assert.ok(r.errors.length > 0, 'no config means at least one error');
  }
  for (const p of [...r.errors, ...r.warnings]) {
    assert.equal(typeof p.file, 'string');
    assert.ok(Number.isInteger(p.line) && p.line >= 0, `line ${p.line}`);
    assert.ok(typeof p.message === 'string' && p.message.trim().length > 0, 'every problem has a reason');
  }
}

function compile(conf: string, access: string): CompileResult {
  return compileConfig({ configFile: CONF, accessFile: ACCESS, now: NOW, sources: memorySources({ [CONF]: conf, [ACCESS]: access }) });
}

test('the samples used as seeds compile', () => {
  for (const c of FWKNOPD_SAMPLES) for (const a of ACCESS_SAMPLES) {
    const r = compile(c, a);
    assert.deepEqual(r.errors, [], `${c}\n---\n${a}`);
  }
});

test('fwknopd.conf: mutated and junk text never throws; every rejection has a reason', { timeout: 60_000 }, () => {
  fc.assert(fc.property(parserInput(FWKNOPD_SAMPLES), fc.constantFrom(...ACCESS_SAMPLES), (conf, access) => checkResult(compile(conf, access))), RUNS);
});

test('access.conf: mutated and junk text never throws; every rejection has a reason', { timeout: 60_000 }, () => {
  fc.assert(fc.property(fc.constantFrom(...FWKNOPD_SAMPLES), parserInput(ACCESS_SAMPLES), (conf, access) => checkResult(compile(conf, access))), RUNS);
});

test('both files mutated at once, and the line parser alone on any string', { timeout: 60_000 }, () => {
  fc.assert(fc.property(parserInput(FWKNOPD_SAMPLES), parserInput(ACCESS_SAMPLES), (conf, access) => checkResult(compile(conf, access))), { ...RUNS, numRuns: 200 });
  fc.assert(
    fc.property(fc.string({ unit: 'binary', maxLength: 400 }), (text) => {
      const r = parseConfigText(text, 'x.conf');
      for (const e of r.entries) assert.ok(e.name.length > 0 && e.line >= 1);
    }),
    RUNS,
  );
});
