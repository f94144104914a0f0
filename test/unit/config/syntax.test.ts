import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isDubiousBool, parseBool, parseConfigText } from '../../../src/config/syntax.js';

const one = (line: string) => parseConfigText(line, 'f.conf').entries[0];

test('parser keeps trailing blanks as part of the value', () => {
  assert.equal(one('KEY   secret  \n')?.value, 'secret  ');
});

test('parser ends the value at the first semicolon', () => {
  assert.equal(one('KEY abc;def ; comment')?.value, 'abc');
  assert.equal(one('PCAP_FILTER udp port 62201 ;trailing')?.value, 'udp port 62201 ');
});

test('parser ends the value at CR so CRLF files work', () => {
  const e = parseConfigText('SOURCE ANY\r\nKEY x\r\n', 'f');
  assert.deepEqual(
    e.entries.map((x) => [x.name, x.value, x.line]),
    [
      ['SOURCE', 'ANY', 1],
      ['KEY', 'x', 2],
    ],
  );
});

test('parser removes a trailing colon from the name', () => {
  assert.deepEqual(
    [one('SOURCE: 10.0.0.0/8')?.name, one('SOURCE: 10.0.0.0/8')?.value],
    ['SOURCE', '10.0.0.0/8'],
  );
});

test('parser keeps names case-sensitive', () => {
  assert.equal(one('source ANY')?.name, 'source');
});

test('parser skips comment, semicolon and empty lines and counts lines from 1', () => {
  const text = '# comment\n; also comment\n\n   \nNAME value\n#NAME2 x\n';
  const p = parseConfigText(text, 'a.conf');
  assert.deepEqual(p.entries, [{ name: 'NAME', value: 'value', file: 'a.conf', line: 5 }]);
  assert.deepEqual(p.invalid, []);
});

test('parser treats only the first character as the comment marker', () => {
  const p = parseConfigText('  # not a comment here\n', 'a');
  assert.deepEqual(
    p.entries.map((e) => [e.name, e.value]),
    [['#', 'not a comment here']],
  );
});

test('parser accepts leading blanks before the name and tabs as separators', () => {
  assert.deepEqual([one('\t KEY\t\tv')?.name, one('\t KEY\t\tv')?.value], ['KEY', 'v']);
});

test('parser reports a name without value as an invalid line', () => {
  const p = parseConfigText('KEY\nKEY   \nKEY ;x\nA:b\n', 'x');
  assert.deepEqual(p.entries, []);
  assert.deepEqual(
    p.invalid.map((i) => i.line),
    [1, 2, 3, 4],
  );
});

test('parser keeps # inside a value', () => {
  assert.equal(one('KEY a#b')?.value, 'a#b');
});

test('parseBool is true only for values starting with Y or y', () => {
  assert.equal(parseBool('Y'), true);
  assert.equal(parseBool('yes'), true);
  assert.equal(parseBool('N'), false);
  assert.equal(parseBool('true'), false);
  assert.equal(parseBool(' Y'), false);
  assert.equal(isDubiousBool('true'), true);
  assert.equal(isDubiousBool('no'), false);
});
