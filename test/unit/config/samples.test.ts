import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { SERVER_DEFAULTS, SPAGATE_ONLY } from '../../../src/config/fwknopd-keywords.js';
import { HMAC_B64, KEY_B64, compile, messages, ok } from './helpers.js';

const root = new URL('../../../', import.meta.url).pathname;
const read = (p: string) => readFileSync(root + p, 'utf8');
const withKeys = (text: string) =>
  text
    .replace(/^KEY_BASE64(\s+)__CHANGEME__/m, `KEY_BASE64$1${KEY_B64}`)
    .replace(/^HMAC_KEY_BASE64(\s+)__CHANGEME__/m, `HMAC_KEY_BASE64$1${HMAC_B64}`);

for (const dir of ['conf/', 'conf/docker/']) {
  test(`sample ${dir} refuses to load until the __CHANGEME__ keys are replaced`, () => {
    const r = compile(read(`${dir}fwknopd.conf`), read(`${dir}access.conf`));
    assert.equal(r.config, null);
    assert.ok(r.errors.every((e) => /__CHANGEME__/.test(e.message)));
  });

  test(`sample ${dir} compiles to the FORWARD_ALL gateway once keys are set`, () => {
    const r = compile(read(`${dir}fwknopd.conf`), withKeys(read(`${dir}access.conf`)));
    const c = ok(r);
    assert.notEqual(c.server.chains.forward, null);
    assert.notEqual(c.server.chains.masquerade, null);
    assert.equal(c.stanzas.length, 1);
    assert.equal(c.stanzas[0].forwardAll, true);
    assert.equal(c.stanzas[0].disableDnat, true);
    assert.deepEqual(
      messages(r.warnings).map((w) => /spec 12\.7/.test(w)),
      [true],
      'only the 12.7 note',
    );
  });
}

test('sample fwknopd.conf and docs/configuration.md document every spagate-only keyword', () => {
  const sample = read('conf/fwknopd.conf');
  const docs = read('docs/configuration.md');
  for (const k of SPAGATE_ONLY) {
    assert.match(sample, new RegExp(`^#?${k}\\s`, 'm'), `${k} in conf/fwknopd.conf`);
    assert.ok(docs.includes(`\`${k}\``), `${k} in docs/configuration.md`);
  }
});

test('sample fwknopd.conf shows each commented default as the built-in default', () => {
  const sample = read('conf/fwknopd.conf');
  for (const m of sample.matchAll(/^#([A-Z_]+)\s+([^;\n]+);/gm)) {
    const dflt = SERVER_DEFAULTS[m[1]];
    if (dflt === undefined) continue;
    assert.equal(m[2].trim().replace(/\s+/g, ' '), dflt.replace(/\s+/g, ' '), m[1]);
  }
});
