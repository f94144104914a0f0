import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MemoryStore } from '../../../src/adapters/memory-store.js';
import { UserError } from '../../../src/users/errors.js';
import { fwknoprcStanza, fwknop2QrText } from '../../../src/users/client-config.js';
import { spaEndpoint } from '../../../src/users/setup.js';
import { serverConfig, stanza } from '../../helpers/fixtures.js';
import { keysOf, startUsersInProcess } from './helpers.js';

const GW_OPTS = [
  { name: 'FORWARD_ALL', value: 'Y' },
  { name: 'DISABLE_DNAT', value: 'Y' },
];

async function lastEvent(store: MemoryStore): Promise<{ outcome: string; reason: string; stanzaId: string | null }> {
  const [e] = await store.listEvents({ limit: 1 });
  return e;
}

test('a user created in the directory can knock at once and gets a grant under its own stanza', async () => {
  const g = await startUsersInProcess();
  try {
    const issued = await g.users.directory.create({ name: 'amy', options: GW_OPTS }, 'admin');
    assert.match(issued.fwknoprc, /^\[amy\]\n/);
    g.knock(keysOf(issued.fwknoprc));
    await g.settle();
    const live = g.running.gateway.liveGrants();
    assert.equal(live.length, 1);
    assert.equal(live[0].stanzaId, 'user:amy');
    assert.deepEqual(live[0].rules.forward, { all: true });
    const [view] = await g.users.directory.list();
    assert.equal(view.liveGrants, 1);
    assert.equal(view.status, 'active');
  } finally {
    await g.stop();
  }
});

test('access.conf stanzas keep working beside users, and a SIGHUP reload keeps the users', async () => {
  const file = stanza({ key: Buffer.alloc(32, 7), hmacKey: Buffer.alloc(64, 8), keyIsPassphrase: false });
  const g = await startUsersInProcess({ stanzas: [file] });
  try {
    const issued = await g.users.directory.create({ name: 'amy' }, 'admin');
    g.running.reload([file]);
    await g.settle();
    g.knock({ key: file.key.toString('base64'), hmac: file.hmacKey!.toString('base64') }, '10.0.0.8');
    g.knock(keysOf(issued.fwknoprc), '10.0.0.9');
    await g.settle();
    assert.deepEqual(g.running.gateway.liveGrants().map((x) => x.stanzaId).sort(), ['access.conf:1', 'user:amy']);
  } finally {
    await g.stop();
  }
});

test('disabling a user ends its live grants and refuses its packets; enabling lets it in again', async () => {
  const g = await startUsersInProcess();
  try {
    const keys = keysOf((await g.users.directory.create({ name: 'amy', options: GW_OPTS }, 'admin')).fwknoprc);
    g.knock(keys);
    await g.settle();
    const [grant] = g.running.gateway.liveGrants();
    assert.ok(grant);
    const view = await g.users.directory.setDisabled('amy', true, 'admin');
    assert.equal(view.status, 'disabled');
    assert.equal(g.running.gateway.liveGrants().length, 0);
    assert.deepEqual(await g.firewall.listInstalled(), []);
    assert.equal((await g.store.getGrant(grant.id))?.endReason, 'revoked');
    g.knock(keys);
    await g.settle();
    assert.equal(g.running.gateway.liveGrants().length, 0);
    assert.equal((await lastEvent(g.store)).outcome, 'rejected');
    await g.users.directory.setDisabled('amy', false, 'admin');
    g.knock(keys);
    await g.settle();
    assert.equal(g.running.gateway.liveGrants().length, 1);
  } finally {
    await g.stop();
  }
});

test('deleting a user ends its grants, refuses its packets and removes it', async () => {
  const g = await startUsersInProcess();
  try {
    const keys = keysOf((await g.users.directory.create({ name: 'amy', options: GW_OPTS }, 'admin')).fwknoprc);
    g.knock(keys);
    await g.settle();
    assert.equal(g.running.gateway.liveGrants().length, 1);
    await g.users.directory.delete('amy', 'admin');
    assert.equal(g.running.gateway.liveGrants().length, 0);
    assert.equal(await g.users.directory.get('amy'), null);
    g.knock(keys);
    await g.settle();
    assert.equal(g.running.gateway.liveGrants().length, 0);
    await assert.rejects(g.users.directory.delete('amy', 'admin'), (e) => e instanceof UserError && e.kind === 'not_found');
  } finally {
    await g.stop();
  }
});

test('an expired user is refused; moving the expiry ahead lets it in', async () => {
  const g = await startUsersInProcess();
  try {
    const keys = keysOf((await g.users.directory.create({ name: 'amy', expiresAt: g.clock.now() + 60_000 }, 'admin')).fwknoprc);
    g.clock.advance(61_000);
    assert.equal((await g.users.directory.get('amy'))?.status, 'expired');
    g.knock(keys);
    await g.settle();
    assert.equal((await lastEvent(g.store)).outcome, 'rejected');
    assert.equal(g.running.gateway.liveGrants().length, 0);
    await g.users.directory.setExpiry('amy', g.clock.now() + 86_400_000, 'admin');
    g.knock(keys);
    await g.settle();
    assert.equal(g.running.gateway.liveGrants().length, 1);
  } finally {
    await g.stop();
  }
});

test('rotating keys makes the old keys useless and the new ones work', async () => {
  const g = await startUsersInProcess();
  try {
    const old = keysOf((await g.users.directory.create({ name: 'amy' }, 'admin')).fwknoprc);
    const fresh = keysOf((await g.users.directory.rotateKeys('amy', 'admin')).fwknoprc);
    assert.notEqual(fresh.key, old.key);
    assert.notEqual(fresh.hmac, old.hmac);
    g.knock(old);
    await g.settle();
    assert.equal(g.running.gateway.liveGrants().length, 0);
    g.knock(fresh);
    await g.settle();
    assert.equal(g.running.gateway.liveGrants().length, 1);
  } finally {
    await g.stop();
  }
});

test('users survive a restart: a new gateway on the same store loads them before packets arrive', async () => {
  const store = new MemoryStore();
  const a = await startUsersInProcess({ store });
  const keys = keysOf((await a.users.directory.create({ name: 'amy' }, 'admin')).fwknoprc);
  await a.stop();
  // The first gateway closed the memory store; reopen it the cheap way for the second one.
  (store as unknown as { closed: boolean }).closed = false;
  const b = await startUsersInProcess({ store });
  try {
    b.knock(keys);
    await b.settle();
    assert.equal(b.running.gateway.liveGrants()[0]?.stanzaId, 'user:amy');
  } finally {
    await b.stop();
  }
});

test('users with bad names, refused keywords or options that do not compile are not created', async () => {
  const g = await startUsersInProcess({ server: { chains: { ...serverConfig().chains, forward: null } } });
  try {
    const d = g.users.directory;
    const invalid = (e: unknown): boolean => e instanceof UserError && e.kind === 'invalid';
    await assert.rejects(d.create({ name: '../etc' }, 'admin'), invalid);
    await assert.rejects(d.create({ name: 'a b' }, 'admin'), invalid);
    await assert.rejects(d.create({ name: 'amy', options: [{ name: 'KEY', value: 'secret' }] }, 'admin'), invalid);
    await assert.rejects(d.create({ name: 'amy', options: [{ name: 'CMD_EXEC', value: 'x' }] }, 'admin'), invalid);
    await assert.rejects(d.create({ name: 'amy', source: 'not-a-net' }, 'admin'), invalid);
    // FORWARD_ALL needs the FORWARD chain, which this server does not configure.
    await assert.rejects(d.create({ name: 'amy', options: GW_OPTS }, 'admin'), /ENABLE_IPT_FORWARDING/);
    await d.create({ name: 'amy' }, 'admin');
    await assert.rejects(d.create({ name: 'amy' }, 'admin'), (e) => e instanceof UserError && e.kind === 'conflict');
    assert.deepEqual((await d.list()).map((u) => u.name), ['amy']);
  } finally {
    await g.stop();
  }
});

test('the .fwknoprc stanza names the server from PORTAL_LISTEN, the port in UDP mode, and the user', () => {
  const u = {
    name: 'amy',
    source: 'ANY',
    options: [{ name: 'OPEN_PORTS', value: 'udp/1194, tcp/22' }],
    keyBase64: 'S2V5',
    hmacKeyBase64: 'SG1hYw==',
    disabled: false,
    expiresAt: null,
    createdAt: 0,
    updatedAt: 0,
    keysAt: 0,
    keysShown: true,
  };
  const at = spaEndpoint(serverConfig({ portalListen: '192.168.50.1:8081', enableUdpServer: true, udpservPort: 40000 }));
  assert.deepEqual(at, { server: '192.168.50.1', port: 40000 });
  const rc = fwknoprcStanza(u, at);
  assert.match(rc, /^\[amy\]$/m);
  assert.match(rc, /^SPA_SERVER\s+192\.168\.50\.1$/m);
  assert.match(rc, /^SPA_SERVER_PORT\s+40000$/m);
  assert.match(rc, /^ACCESS\s+udp\/1194$/m);
  assert.match(rc, /^SPOOF_USER\s+amy$/m);
  assert.match(rc, /^KEY_BASE64\s+S2V5$/m);
  assert.match(rc, /^HMAC_KEY_BASE64\s+SG1hYw==$/m);
  assert.match(rc, /^USE_HMAC\s+Y$/m);
  assert.equal(fwknop2QrText(u), 'KEY_BASE64:S2V5 HMAC_KEY_BASE64:SG1hYw==');
  assert.deepEqual(spaEndpoint(serverConfig({ portalListen: '0.0.0.0:80', dashboardListen: '127.0.0.1:8080' })), { server: null, port: 62201 });
  assert.match(fwknoprcStanza(u, { server: null, port: 62201 }), /# add SPA_SERVER/);
});

test('the log never carries user keys', async () => {
  const g = await startUsersInProcess();
  try {
    const issued = await g.users.directory.create({ name: 'amy' }, 'admin');
    const keys = keysOf(issued.fwknoprc);
    await g.users.directory.rotateKeys('amy', 'admin');
    g.knock(keys);
    await g.settle();
    assert.ok(!g.logs.text.includes(keys.key));
    assert.ok(!g.logs.text.includes(keys.hmac));
  } finally {
    await g.stop();
  }
});
