import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ACCESS, HMAC_B64, KEY_B64, compile, messages, ok, stanza } from './helpers.js';

const D = '/etc/fwknop';

test('include expands a file in place so stanza order follows the text', () => {
  const access = `${stanza('10.0.0.1')}%include ${D}/more.conf\n${stanza('10.0.0.3')}`;
  const r = compile('', access, { files: { [`${D}/more.conf`]: stanza('10.0.0.2') } });
  assert.deepEqual(
    ok(r).stanzas.map((s) => s.id),
    ['access.conf:1', 'more.conf:1', 'access.conf:6'],
  );
});

test('include resolves a relative path against the including file', () => {
  const r = compile('', `%include sub/a.conf\n`, { files: { [`${D}/sub/a.conf`]: stanza('ANY') } });
  assert.deepEqual(
    ok(r).stanzas.map((s) => s.origin),
    [`${D}/sub/a.conf:1`],
  );
});

test('lines after an include continue the stanza that was open before it', () => {
  const access = `SOURCE ANY\nKEY_BASE64 ${KEY_B64}\n%include ${D}/k.conf\nHMAC_KEY_BASE64 ${HMAC_B64}\nREQUIRE_SOURCE_ADDRESS Y\n`;
  const r = compile('', access, { files: { [`${D}/k.conf`]: stanza('10.1.1.1') } });
  const [outer, inner] = ok(r).stanzas;
  assert.equal(outer.id, 'access.conf:1');
  assert.notEqual(outer.hmacKey, null);
  assert.equal(outer.requireSourceAddress, true);
  assert.equal(inner.id, 'k.conf:1');
});

test('include_folder takes *.conf files in name order and skips others', () => {
  const r = compile('', `%include_folder ${D}/access.d\n`, {
    files: {
      [`${D}/access.d/20-b.conf`]: stanza('10.0.0.2'),
      [`${D}/access.d/10-a.conf`]: stanza('10.0.0.1'),
      [`${D}/access.d/30-c.conf.disabled`]: 'garbage line\n',
      [`${D}/access.d/README`]: 'garbage\n',
    },
    dirs: { [`${D}/access.d`]: ['README', '30-c.conf.disabled', '20-b.conf', '10-a.conf'] },
  });
  assert.deepEqual(
    ok(r).stanzas.map((s) => s.id),
    ['10-a.conf:1', '20-b.conf:1'],
  );
});

test('include stops at the depth limit of three files', () => {
  const files = {
    [`${D}/l2.conf`]: `%include ${D}/l3.conf\n${stanza('10.0.0.2')}`,
    [`${D}/l3.conf`]: `%include ${D}/l4.conf\n${stanza('10.0.0.3')}`,
    [`${D}/l4.conf`]: stanza('10.0.0.4'),
  };
  const r = compile('', `%include ${D}/l2.conf\n${stanza('10.0.0.1')}`, { files });
  assert.deepEqual(messages(r.errors), [
    `${D}/l3.conf:1: %include ${D}/l4.conf: refusing to go deeper than 3 levels of access files`,
  ]);
  const r3 = compile('', `%include ${D}/l2.conf\n${stanza('10.0.0.1')}`, {
    files: { ...files, [`${D}/l3.conf`]: stanza('10.0.0.3') },
  });
  assert.equal(ok(r3).stanzas.length, 3);
});

test('include reports a cycle instead of looping', () => {
  const r = compile('', `%include ${D}/a.conf\n${stanza()}`, {
    files: { [`${D}/a.conf`]: `%include ${ACCESS}\n` },
  });
  assert.deepEqual(messages(r.errors), [
    `${D}/a.conf:1: %include ${ACCESS}: include cycle (${ACCESS} -> ${D}/a.conf -> ${ACCESS})`,
  ]);
});

test('include of a missing file or folder is an error at the include line', () => {
  const r = compile('', `${stanza()}%include ${D}/gone.conf\n%include_folder ${D}/gone.d\n`);
  assert.deepEqual(messages(r.errors), [
    `${ACCESS}:5: %include ${D}/gone.conf: cannot read: not found`,
    `${ACCESS}:6: %include_folder ${D}/gone.d: cannot read folder: not found`,
  ]);
});

test('include_keys adds key lines to the current stanza and refuses other keywords', () => {
  const good = compile('', `SOURCE ANY\nREQUIRE_SOURCE_ADDRESS Y\n%include_keys ${D}/keys\n`, {
    files: { [`${D}/keys`]: `KEY_BASE64 ${KEY_B64}\nHMAC_KEY_BASE64 ${HMAC_B64}\n` },
  });
  const s = ok(good).stanzas[0];
  assert.equal(s.key.toString('base64'), KEY_B64);
  assert.equal(s.hmacKey?.toString('base64'), HMAC_B64);
  const bad = compile('', `${stanza()}%include_keys ${D}/keys\n`, {
    files: { [`${D}/keys`]: 'OPEN_PORTS tcp/22\n' },
  });
  assert.match(messages(bad.errors)[0], /keys:1: OPEN_PORTS is not allowed in a %include_keys file/);
});

test('lines before the first SOURCE are ignored with a warning', () => {
  const r = compile('', `KEY_BASE64 ${KEY_B64}\nOPEN_PORTS tcp/22\n${stanza()}`);
  ok(r);
  assert.deepEqual(
    messages(r.warnings).filter((w) => w.includes('outside any stanza')),
    [`${ACCESS}:1: ignored: KEY_BASE64 is outside any stanza (a stanza starts with SOURCE)`],
  );
});

test('an access file without stanzas is an error', () => {
  assert.deepEqual(messages(compile('', '# nothing\n').errors), [
    `${ACCESS}:0: no access stanzas (each stanza starts with a SOURCE line)`,
  ]);
});

test('an invalid access.conf line is an error with its line', () => {
  const r = compile('', `${stanza()}OPEN_PORTS\n`);
  assert.deepEqual(messages(r.errors), [
    `${ACCESS}:5: invalid access file entry (not "NAME VALUE"): 'OPEN_PORTS'`,
  ]);
});

test('access file permissions open to group or others give a warning', () => {
  const r = compile('', '', { files: { [ACCESS]: { text: stanza(), mode: 0o644 } } });
  ok(r);
  assert.ok(
    messages(r.warnings).includes(
      `${ACCESS}:0: permissions are 0644; should be user read/write only (0600), as fwknopd requires`,
    ),
  );
  const quiet = compile('', '', { files: { [ACCESS]: { text: stanza(), mode: 0o600 } } });
  assert.ok(!messages(quiet.warnings).some((w) => w.includes('permissions')));
});
