import { test } from 'node:test';
import assert from 'node:assert/strict';
import jsQRModule from 'jsqr';
import { PNG } from 'pngjs';
import { CODE_ALPHABET, hashCode, newEnrollmentCode, normalizeCode } from '../../../src/users/enrollment.js';
import { UserError } from '../../../src/users/errors.js';
import { counterRandom } from '../../helpers/in-process-gateway.js';
import { keysOf, startUsersInProcess } from './helpers.js';

// jsqr is CommonJS with a default export; under tsx its shape differs from tsc's view.
const jsQR = ((jsQRModule as unknown as { default?: unknown }).default ?? jsQRModule) as (data: Uint8ClampedArray, width: number, height: number) => { data: string } | null;

const CLIENT = { ip: '10.0.0.9', mac: '02:00:00:00:00:09' };

function decodeQr(dataUrl: string): string | null {
  const png = PNG.sync.read(Buffer.from(dataUrl.replace(/^data:image\/png;base64,/, ''), 'base64'));
  return jsQR(new Uint8ClampedArray(png.data), png.width, png.height)?.data ?? null;
}

test('codes are 8 characters of the unambiguous alphabet, shown as XXXX-XXXX, and normalise back', () => {
  const random = counterRandom('codes');
  const seen = new Set<string>();
  for (let i = 0; i < 500; i++) {
    const c = newEnrollmentCode(random);
    assert.match(c, /^[A-Z2-9]{4}-[A-Z2-9]{4}$/);
    for (const ch of c.replace('-', '')) assert.ok(CODE_ALPHABET.includes(ch), ch);
    seen.add(c);
    assert.equal(normalizeCode(` ${c.toLowerCase()} `), c.replace('-', ''));
  }
  assert.equal(seen.size, 500);
  for (const ch of '01OIL') assert.ok(!CODE_ALPHABET.includes(ch));
  assert.equal(normalizeCode('ABCD-EFG'), null);
  assert.equal(normalizeCode('ABCD-EFG0'), null);
  assert.equal(normalizeCode('x'.repeat(100)), null);
  assert.notEqual(hashCode('ABCDEFGH'), hashCode('ABCDEFGJ'));
});

test('redeeming a code rotates the user keys and returns the stanza and a QR code Fwknop2 imports', async () => {
  const g = await startUsersInProcess();
  try {
    const issued = await g.users.enrollment.issue({ name: 'amy', options: [{ name: 'FORWARD_ALL', value: 'Y' }, { name: 'DISABLE_DNAT', value: 'Y' }] }, 'admin');
    assert.equal(issued.createdUser, true);
    assert.equal((await g.users.directory.get('amy'))?.keysShown, false);
    const r = await g.users.enrollment.redeem(issued.code, CLIENT);
    assert.ok('fwknoprc' in r, JSON.stringify(r));
    assert.equal(r.user, 'amy');
    const keys = keysOf(r.fwknoprc);
    assert.equal(decodeQr(r.qrPngDataUrl), `KEY_BASE64:${keys.key} HMAC_KEY_BASE64:${keys.hmac}`);
    assert.equal((await g.users.directory.get('amy'))?.keysShown, true);
    g.knock(keys);
    await g.settle();
    assert.equal(g.running.gateway.liveGrants()[0]?.stanzaId, 'user:amy');
    const [listed] = await g.users.enrollment.list();
    assert.equal(listed.state, 'used');
    assert.equal(listed.usedBy, CLIENT.ip);
  } finally {
    await g.stop();
  }
});

test('a code works once: the second redeem fails and the keys stay those of the first', async () => {
  const g = await startUsersInProcess();
  try {
    const { code } = await g.users.enrollment.issue({ name: 'amy' }, 'admin');
    const first = await g.users.enrollment.redeem(code.toLowerCase().replace('-', ' '), CLIENT);
    assert.ok('fwknoprc' in first);
    const second = await g.users.enrollment.redeem(code, { ip: '10.0.0.10', mac: null });
    assert.deepEqual(second, { error: 'This code has already been used.' });
    g.knock(keysOf(first.fwknoprc));
    await g.settle();
    assert.equal(g.running.gateway.liveGrants().length, 1);
  } finally {
    await g.stop();
  }
});

test('two redeems of one code at the same time give keys to exactly one', async () => {
  const g = await startUsersInProcess();
  try {
    const { code } = await g.users.enrollment.issue({ name: 'amy' }, 'admin');
    const rs = await Promise.all([g.users.enrollment.redeem(code, CLIENT), g.users.enrollment.redeem(code, { ip: '10.0.0.10', mac: null })]);
    assert.equal(rs.filter((r) => 'fwknoprc' in r).length, 1);
  } finally {
    await g.stop();
  }
});

test('an expired code fails, and an existing user keeps working keys until a code is redeemed', async () => {
  const g = await startUsersInProcess();
  try {
    const keys = keysOf((await g.users.directory.create({ name: 'amy' }, 'admin')).fwknoprc);
    const issued = await g.users.enrollment.issue({ name: 'amy' }, 'admin', 3_600_000);
    assert.equal(issued.createdUser, false);
    g.clock.advance(3_600_000);
    const r = await g.users.enrollment.redeem(issued.code, CLIENT);
    assert.ok('error' in r && /expired/.test(r.error));
    assert.equal((await g.users.enrollment.list())[0].state, 'expired');
    g.knock(keys);
    await g.settle();
    assert.equal(g.running.gateway.liveGrants().length, 1);
  } finally {
    await g.stop();
  }
});

test('unknown and malformed codes fail, and attempts are limited per client and in total', async () => {
  const g = await startUsersInProcess();
  try {
    const e = g.users.enrollment;
    const { code } = await e.issue({ name: 'amy' }, 'admin');
    assert.deepEqual(await e.redeem('nonsense', CLIENT), { error: 'That is not an enrollment code (8 letters and digits).' });
    assert.deepEqual(await e.redeem('AAAA-AAAA', CLIENT), { error: 'Unknown enrollment code.' });
    for (let i = 0; i < 8; i++) await e.redeem('AAAA-AAAA', CLIENT);
    // Ten attempts used: even the right code is refused from this client now.
    const limited = await e.redeem(code, CLIENT);
    assert.ok('error' in limited && /Too many attempts/.test(limited.error));
    // Another client is unaffected, and the code still works for it.
    const ok = await e.redeem(code, { ip: '10.0.0.77', mac: null });
    assert.ok('fwknoprc' in ok);
    // After the window the first client may try again.
    g.clock.advance(15 * 60_000);
    assert.deepEqual(await e.redeem('AAAA-AAAA', CLIENT), { error: 'Unknown enrollment code.' });
    // A flood of failures from many addresses closes enrollment for everyone for a while.
    for (let i = 0; i < 120; i++) await e.redeem('AAAA-AAAA', { ip: `10.1.${i >> 8}.${i & 255}`, mac: null });
    const { code: code2 } = await e.issue({ name: 'bob' }, 'admin');
    const shut = await e.redeem(code2, { ip: '10.9.9.9', mac: null });
    assert.ok('error' in shut && /Too many attempts/.test(shut.error));
  } finally {
    await g.stop();
  }
});

test('codes are stored hashed, for a user that is deleted they fail, and bad issue requests are refused', async () => {
  const g = await startUsersInProcess();
  try {
    const { code, id } = await g.users.enrollment.issue({ name: 'amy' }, 'admin');
    const stored = (await g.store.listEnrollments()).find((x) => x.id === id)!;
    assert.ok(!JSON.stringify(stored).includes(code.replace('-', '')));
    assert.equal(stored.codeHash, hashCode(normalizeCode(code)!));
    const other = await g.users.enrollment.issue({ name: 'bob' }, 'admin');
    await g.users.directory.delete('bob', 'admin');
    const r = await g.users.enrollment.redeem(other.code, CLIENT);
    assert.ok('error' in r);
    const invalid = (e: unknown): boolean => e instanceof UserError && e.kind === 'invalid';
    await assert.rejects(g.users.enrollment.issue({ name: 'x y' }, 'admin'), invalid);
    await assert.rejects(g.users.enrollment.issue({ name: 'amy' }, 'admin', 1000), invalid);
    await assert.rejects(g.users.enrollment.issue({ name: 'amy' }, 'admin', 365 * 86_400_000), invalid);
    assert.ok(!g.logs.text.includes(code), 'the code is never logged');
  } finally {
    await g.stop();
  }
});

test('a code for a disabled user is refused and stays unused', async () => {
  const g = await startUsersInProcess();
  try {
    const { code } = await g.users.enrollment.issue({ name: 'amy' }, 'admin');
    await g.users.directory.setDisabled('amy', true, 'admin');
    const r = await g.users.enrollment.redeem(code, CLIENT);
    assert.ok('error' in r && /disabled/.test(r.error));
    assert.equal((await g.users.enrollment.list())[0].state, 'open');
    await g.users.directory.setDisabled('amy', false, 'admin');
    assert.ok('fwknoprc' in (await g.users.enrollment.redeem(code, CLIENT)));
  } finally {
    await g.stop();
  }
});

test('issuing a code prunes codes used or expired more than 30 days ago', async () => {
  const g = await startUsersInProcess();
  try {
    const old = await g.users.enrollment.issue({ name: 'amy' }, 'admin', 3_600_000);
    g.clock.advance(31 * 86_400_000);
    await g.users.enrollment.issue({ name: 'amy' }, 'admin');
    const ids = (await g.users.enrollment.list()).map((e) => e.id);
    assert.ok(!ids.includes(old.id));
    assert.equal(ids.length, 1);
  } finally {
    await g.stop();
  }
});
