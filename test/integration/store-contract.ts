/**
 * The behaviour every Store + AdminStore implementation must share. Called from one test
 * file per implementation (SQLite here, memory under test/adapters).
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { StoreError } from '../../src/core/errors.js';
import type { Grant, GrantRules, SpaEvent } from '../../src/core/model.js';
import type { AdminStore, ApiToken, ReplayEntry, Store, StoreRetention } from '../../src/core/ports.js';
import { storeErrorKind } from '../../src/adapters/store-errors.js';

export type ContractStore = Store & AdminStore & StoreRetention;

const T0 = 1_800_000_000_000;

const NAT_RULES: GrantRules = {
  src: '203.0.113.7',
  mac: 'aa:bb:cc:dd:ee:ff',
  dst: '192.0.2.1',
  input: [
    { proto: 'tcp', port: 22 },
    { proto: 'udp', port: 53 },
  ],
  output: true,
  forward: { all: false, proto: 'tcp', port: 443 },
  dnat: { all: false, proto: 'tcp', port: 443, toIp: '10.0.0.5', toPort: 8443 },
  snat: { all: false, kind: 'MASQUERADE', toPorts: 1024, proto: 'tcp', ip: '10.0.0.5', port: 8443 },
};

function grant(id: string, grantedAt: number, over: Partial<Grant> = {}): Grant {
  return {
    id,
    stanzaId: 'stanza-1',
    user: 'alice',
    rules: {
      src: '198.51.100.9',
      mac: null,
      dst: null,
      input: [{ proto: 'tcp', port: 22 }],
      output: false,
      forward: null,
      dnat: null,
      snat: null,
    },
    grantedAt,
    expiresAt: grantedAt + 30_000,
    ...over,
  };
}

function event(at: number, over: Partial<SpaEvent> = {}): SpaEvent {
  return {
    at,
    outcome: 'accepted',
    reason: 'granted',
    srcIp: '198.51.100.9',
    srcPort: 40001,
    mac: null,
    user: 'alice',
    stanzaId: 'stanza-1',
    grantId: null,
    detail: null,
    ...over,
  };
}

function replay(digest: string, at: number): ReplayEntry {
  return { digest, proto: 17, srcIp: '203.0.113.7', srcPort: 40001, dstIp: '0.0.0.0', dstPort: 62201, at };
}

function token(id: string, createdAt: number): ApiToken {
  return { id, label: `label ${id}`, tokenHash: `hash-${id}`, createdAt, revokedAt: null };
}

export function storeContract(name: string, make: () => Promise<ContractStore>): void {
  async function withStore(fn: (s: ContractStore) => Promise<void>): Promise<void> {
    const s = await make();
    try {
      await fn(s);
    } finally {
      await s.close();
    }
  }

  describe(`${name} store contract`, () => {
    test('getGrant returns every field of a saved grant, with its rules', () =>
      withStore(async (s) => {
        const g = grant('g1', T0, { stanzaId: 'nat', user: 'bob', rules: NAT_RULES, expiresAt: T0 + 90_000 });
        await s.saveGrant(g);
        assert.deepEqual(await s.getGrant('g1'), { ...g, endedAt: null, endReason: null });
        assert.equal(await s.getGrant('missing'), null);
      }));

    test('saveGrant updates only the expiry when the id exists', () =>
      withStore(async (s) => {
        const g = grant('g1', T0);
        await s.saveGrant(g);
        await s.saveGrant({ ...g, user: 'mallory', grantedAt: T0 + 5, expiresAt: T0 + 120_000 });
        assert.deepEqual(await s.getGrant('g1'), {
          ...g,
          expiresAt: T0 + 120_000,
          endedAt: null,
          endReason: null,
        });
        assert.equal((await s.liveGrants()).length, 1);
      }));

    test('endGrant records the first end only and ignores unknown ids', () =>
      withStore(async (s) => {
        await s.saveGrant(grant('g1', T0));
        await s.endGrant('g1', T0 + 1000, 'expired');
        await s.endGrant('g1', T0 + 2000, 'admin');
        await s.endGrant('nope', T0, 'admin');
        const r = await s.getGrant('g1');
        assert.equal(r?.endedAt, T0 + 1000);
        assert.equal(r?.endReason, 'expired');
        assert.equal(await s.getGrant('nope'), null);
      }));

    test('liveGrants excludes ended grants and keeps expired ones, oldest first', () =>
      withStore(async (s) => {
        await s.saveGrant(grant('late', T0 + 200));
        await s.saveGrant(grant('early', T0, { expiresAt: T0 + 1 }));
        await s.saveGrant(grant('ended', T0 + 100));
        await s.saveGrant(grant('tie', T0 + 200));
        await s.endGrant('ended', T0 + 150, 'revoked');
        const live = await s.liveGrants();
        assert.deepEqual(
          live.map((g) => g.id),
          ['early', 'late', 'tie'],
        );
        assert.deepEqual(live[0], grant('early', T0, { expiresAt: T0 + 1 }));
        assert.equal('endedAt' in live[0], false);
      }));

    test('recentGrants lists newest first, includes ended grants and honours the limit', () =>
      withStore(async (s) => {
        for (let i = 0; i < 5; i++) await s.saveGrant(grant(`g${i}`, T0 + i * 10));
        await s.endGrant('g3', T0 + 100, 'admin');
        const recent = await s.recentGrants(3);
        assert.deepEqual(
          recent.map((g) => g.id),
          ['g4', 'g3', 'g2'],
        );
        assert.equal(recent[1].endReason, 'admin');
        assert.deepEqual(await s.recentGrants(0), []);
        assert.equal((await s.recentGrants(100)).length, 5);
      }));

    test('returned grants are copies that callers cannot use to change the store', () =>
      withStore(async (s) => {
        await s.saveGrant(grant('g1', T0));
        const got = await s.getGrant('g1');
        got!.rules.input.push({ proto: 'udp', port: 1 });
        got!.expiresAt = 0;
        const live = await s.liveGrants();
        live[0].rules.src = '0.0.0.0';
        assert.deepEqual(await s.getGrant('g1'), { ...grant('g1', T0), endedAt: null, endReason: null });
      }));

    test('listEvents returns events newest first with increasing ids and all fields', () =>
      withStore(async (s) => {
        const full = event(T0, {
          outcome: 'rejected',
          reason: 'bad_hmac',
          mac: '02:00:00:00:00:01',
          grantId: 'g1',
          detail: 'x y',
          srcPort: null,
        });
        const bare = event(T0 + 1, { srcIp: null, srcPort: null, user: null, stanzaId: null });
        await s.addEvents([full, bare]);
        await s.addEvents([]);
        const got = await s.listEvents({ limit: 10 });
        assert.equal(got.length, 2);
        assert.ok(got[0].id > got[1].id);
        const { id: id0, ...rest0 } = got[0];
        const { id: id1, ...rest1 } = got[1];
        assert.ok(id0 > id1);
        assert.deepEqual(rest0, bare);
        assert.deepEqual(rest1, full);
      }));

    test('listEvents pages with before without gaps or overlap', () =>
      withStore(async (s) => {
        await s.addEvents(Array.from({ length: 7 }, (_, i) => event(T0 + i, { detail: `e${i}` })));
        const seen: string[] = [];
        let before: number | undefined;
        for (let page = 0; page < 10; page++) {
          const got = await s.listEvents(before === undefined ? { limit: 3 } : { limit: 3, before });
          if (got.length === 0) break;
          assert.ok(got.length <= 3);
          seen.push(...got.map((e) => e.detail!));
          before = got[got.length - 1].id;
        }
        assert.deepEqual(seen, ['e6', 'e5', 'e4', 'e3', 'e2', 'e1', 'e0']);
        assert.deepEqual(await s.listEvents({ limit: 0 }), []);
      }));

    test('listEvents applies outcome, source and user filters together', () =>
      withStore(async (s) => {
        await s.addEvents([
          event(T0, {
            outcome: 'rejected',
            reason: 'replay',
            srcIp: '203.0.113.1',
            user: 'bob',
            detail: 'a',
          }),
          event(T0 + 1, { outcome: 'accepted', srcIp: '203.0.113.1', user: 'bob', detail: 'b' }),
          event(T0 + 2, {
            outcome: 'rejected',
            reason: 'replay',
            srcIp: '203.0.113.2',
            user: 'bob',
            detail: 'c',
          }),
          event(T0 + 3, {
            outcome: 'rejected',
            reason: 'replay',
            srcIp: '203.0.113.1',
            user: 'eve',
            detail: 'd',
          }),
          event(T0 + 4, {
            outcome: 'rejected',
            reason: 'replay',
            srcIp: '203.0.113.1',
            user: 'bob',
            detail: 'e',
          }),
        ]);
        const details = async (f: Parameters<Store['listEvents']>[0]): Promise<string[]> =>
          (await s.listEvents(f)).map((e) => e.detail!);
        assert.deepEqual(await details({ limit: 10, outcome: 'rejected' }), ['e', 'd', 'c', 'a']);
        assert.deepEqual(await details({ limit: 10, srcIp: '203.0.113.2' }), ['c']);
        assert.deepEqual(await details({ limit: 10, user: 'eve' }), ['d']);
        assert.deepEqual(
          await details({ limit: 10, outcome: 'rejected', srcIp: '203.0.113.1', user: 'bob' }),
          ['e', 'a'],
        );
        const newest = (await s.listEvents({ limit: 1, outcome: 'rejected', user: 'bob' }))[0];
        assert.deepEqual(await details({ limit: 10, outcome: 'rejected', user: 'bob', before: newest.id }), [
          'c',
          'a',
        ]);
        assert.deepEqual(await details({ limit: 1, outcome: 'rejected' }), ['e']);
      }));

    test('eventCounts groups events at or after since by outcome and reason, sorted', () =>
      withStore(async (s) => {
        await s.addEvents([
          event(T0 - 1, { outcome: 'rejected', reason: 'bad_hmac' }),
          event(T0, { outcome: 'rejected', reason: 'replay' }),
          event(T0 + 1, { outcome: 'rejected', reason: 'bad_hmac' }),
          event(T0 + 2, { outcome: 'accepted', reason: 'granted' }),
          event(T0 + 3, { outcome: 'rejected', reason: 'bad_hmac' }),
        ]);
        assert.deepEqual(await s.eventCounts(T0), [
          { outcome: 'accepted', reason: 'granted', count: 1 },
          { outcome: 'rejected', reason: 'bad_hmac', count: 2 },
          { outcome: 'rejected', reason: 'replay', count: 1 },
        ]);
        assert.deepEqual(await s.eventCounts(T0 + 10), []);
      }));

    test('replayAdd reports a known digest and keeps the first entry', () =>
      withStore(async (s) => {
        const first = replay('QrM+NztKhxVKI7vYKLCLs0GXdlI4bWcPzraiHdY7+J4', T0);
        assert.equal(await s.replayAdd(first), true);
        assert.equal(await s.replayAdd({ ...first, srcIp: '192.0.2.99', at: T0 + 5 }), false);
        assert.deepEqual(await s.replayGet(first.digest), first);
        assert.equal(await s.replayGet('unknown'), null);
      }));

    test('replayLoad returns entries at or after since in time order and replayPrune removes older ones', () =>
      withStore(async (s) => {
        await s.replayAdd(replay('c', T0 + 20));
        await s.replayAdd(replay('a', T0));
        await s.replayAdd(replay('b', T0 + 10));
        await s.replayAdd(replay('d', T0 + 30));
        assert.deepEqual(
          (await s.replayLoad(T0 + 10)).map((e) => e.digest),
          ['b', 'c', 'd'],
        );
        assert.deepEqual(await s.replayLoad(T0), [
          replay('a', T0),
          replay('b', T0 + 10),
          replay('c', T0 + 20),
          replay('d', T0 + 30),
        ]);
        assert.equal(await s.replayPrune(T0 + 20), 2);
        assert.equal(await s.replayGet('a'), null);
        assert.deepEqual(
          (await s.replayLoad(0)).map((e) => e.digest),
          ['c', 'd'],
        );
        assert.equal(await s.replayPrune(T0 + 20), 0);
        assert.equal(await s.replayAdd(replay('a', T0 + 40)), true);
      }));

    test('admins round-trip, a new password keeps the creation time, and the list is sorted', () =>
      withStore(async (s) => {
        assert.equal(await s.getAdmin('root'), null);
        await s.setAdmin({ username: 'zed', passwordHash: 'scrypt$1', createdAt: T0 });
        await s.setAdmin({ username: 'amy', passwordHash: 'scrypt$2', createdAt: T0 + 1 });
        await s.setAdmin({ username: 'zed', passwordHash: 'scrypt$3', createdAt: T0 + 2 });
        assert.deepEqual(await s.getAdmin('zed'), {
          username: 'zed',
          passwordHash: 'scrypt$3',
          createdAt: T0,
        });
        assert.deepEqual(
          (await s.listAdmins()).map((a) => a.username),
          ['amy', 'zed'],
        );
      }));

    test('tokens are found by hash, listed by creation, and revoked once', () =>
      withStore(async (s) => {
        await s.addToken(token('t2', T0 + 1));
        await s.addToken(token('t1', T0));
        assert.deepEqual(await s.findTokenByHash('hash-t2'), token('t2', T0 + 1));
        assert.equal(await s.findTokenByHash('hash-none'), null);
        assert.deepEqual(
          (await s.listTokens()).map((t) => t.id),
          ['t1', 't2'],
        );
        assert.equal(await s.revokeToken('t1', T0 + 50), true);
        assert.equal(await s.revokeToken('t1', T0 + 60), false);
        assert.equal(await s.revokeToken('none', T0), false);
        assert.equal((await s.findTokenByHash('hash-t1'))?.revokedAt, T0 + 50);
        assert.equal((await s.findTokenByHash('hash-t2'))?.revokedAt, null);
      }));

    test('addToken rejects a reused id or hash with a conflict StoreError', () =>
      withStore(async (s) => {
        await s.addToken(token('t1', T0));
        for (const dup of [
          { ...token('t1', T0), tokenHash: 'other' },
          { ...token('t9', T0), tokenHash: 'hash-t1' },
        ]) {
          await assert.rejects(
            s.addToken(dup),
            (e: unknown) => e instanceof StoreError && storeErrorKind(e) === 'conflict',
          );
        }
        assert.equal((await s.listTokens()).length, 1);
      }));

    test('pruneEvents and pruneEndedGrants remove old history and never live grants', () =>
      withStore(async (s) => {
        await s.addEvents([event(T0, { detail: 'old' }), event(T0 + 100, { detail: 'new' })]);
        assert.equal(await s.pruneEvents(T0 + 100), 1);
        assert.deepEqual(
          (await s.listEvents({ limit: 10 })).map((e) => e.detail),
          ['new'],
        );
        await s.saveGrant(grant('live', T0));
        await s.saveGrant(grant('oldend', T0));
        await s.saveGrant(grant('newend', T0));
        await s.endGrant('oldend', T0 + 10, 'expired');
        await s.endGrant('newend', T0 + 1000, 'expired');
        assert.equal(await s.pruneEndedGrants(T0 + 500), 1);
        assert.equal(await s.getGrant('oldend'), null);
        assert.notEqual(await s.getGrant('newend'), null);
        assert.deepEqual(
          (await s.liveGrants()).map((g) => g.id),
          ['live'],
        );
      }));

    test('a closed store rejects calls with a closed StoreError and closes again quietly', async () => {
      const s = await make();
      await s.close();
      await s.close();
      await assert.rejects(
        s.liveGrants(),
        (e: unknown) => e instanceof StoreError && storeErrorKind(e) === 'closed',
      );
      await assert.rejects(
        s.addEvents([event(T0)]),
        (e: unknown) => e instanceof StoreError && storeErrorKind(e) === 'closed',
      );
    });
  });
}
