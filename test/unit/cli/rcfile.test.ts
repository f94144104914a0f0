import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseRcText, selectRcEntries, stanzaNames } from '../../../src/cli/rcfile.js';

const RC = `# .fwknoprc
KEY ignored-before-any-stanza
[default]
DIGEST_TYPE         sha512
;comment
 # an indented comment (fwknop would fail on it)
spa_server_port: 40000

[MyServer]
SPA_SERVER   gw.example.net   # trailing comment
Key          two words
HMAC_KEY_BASE64 abc=;junk
ALLOW_IP
[other]
ACCESS tcp/22
[default]
FW_TIMEOUT 30\r
`;

test('parseRcText splits stanzas and ignores lines before the first one', () => {
  const s = parseRcText(RC);
  assert.deepEqual(
    s.map((x) => x.name),
    ['default', 'MyServer', 'other', 'default'],
  );
  assert.deepEqual(stanzaNames(s), ['MyServer', 'other']);
});

test('parseRcText upper-cases keywords, drops a trailing colon and stops values at blanks, ; and #', () => {
  const [def, my] = parseRcText(RC);
  assert.deepEqual(def.entries[1], { keyword: 'SPA_SERVER_PORT', value: '40000', line: 7 });
  assert.deepEqual(
    my.entries.map((e) => [e.keyword, e.value]),
    [
      ['SPA_SERVER', 'gw.example.net'],
      ['KEY', 'two'],
      ['HMAC_KEY_BASE64', 'abc='],
      ['ALLOW_IP', null],
    ],
  );
});

test('parseRcText skips comments indented with blanks', () => {
  const [def] = parseRcText(RC);
  assert.deepEqual(
    def.entries.map((e) => e.keyword),
    ['DIGEST_TYPE', 'SPA_SERVER_PORT'],
  );
});

test('selectRcEntries applies every [default] stanza, then the named one (case-insensitive)', () => {
  const r = selectRcEntries(parseRcText(RC), 'myserver');
  assert.equal(r.found, true);
  assert.deepEqual(
    r.entries.map((e) => e.keyword),
    ['DIGEST_TYPE', 'SPA_SERVER_PORT', 'FW_TIMEOUT', 'SPA_SERVER', 'KEY', 'HMAC_KEY_BASE64', 'ALLOW_IP'],
  );
  assert.equal(r.entries[2].value, '30');
});

test('selectRcEntries reports a missing named stanza', () => {
  assert.equal(selectRcEntries(parseRcText(RC), 'nope').found, false);
  assert.equal(selectRcEntries(parseRcText(RC), null).found, true);
});

test('selectRcEntries does not apply [default] twice for -n default', () => {
  assert.equal(selectRcEntries(parseRcText(RC), 'DEFAULT').entries.length, 3);
});
