/** The dashboard in-process with a real UserDirectory and EnrollmentService over a MemoryStore, driving a fake gateway. */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ManualClock } from '../../src/adapters/memory-clock.js';
import { MemoryStore } from '../../src/adapters/memory-store.js';
import { cryptoRandom } from '../../src/adapters/system-clock.js';
import type { AccessStanza } from '../../src/core/config-model.js';
import type { Clock } from '../../src/core/ports.js';
import type { Grant } from '../../src/core/model.js';
import { buildUsers, type Users } from '../../src/users/setup.js';
import { createApp } from '../../src/web/app.js';
import { MemoryGatewayControl } from '../../src/web/memory-control.js';
import { hashPassword } from '../../src/web/password.js';
import { hashToken, newToken } from '../../src/web/tokens.js';
import { serverConfig } from '../helpers/fixtures.js';
import { FAST_SCRYPT, memoryLogger, type LogLine } from './harness.js';

export interface UsersHarness {
  url: string;
  store: MemoryStore;
  users: Users;
  clock: Clock;
  logs: LogLine[];
  stanzas: () => readonly AccessStanza[];
  ended: string[];
  /** The fake gateway's live grants. */
  live: Grant[];
  token: string;
  close(): Promise<void>;
}

export async function startUsersApp(o: { clock?: Clock } = {}): Promise<UsersHarness> {
  const clock = o.clock ?? new ManualClock(Date.UTC(2027, 0, 15, 8, 0, 0));
  const store = new MemoryStore();
  await store.setAdmin({ username: 'admin', passwordHash: await hashPassword('correct horse', cryptoRandom, FAST_SCRYPT), createdAt: clock.now() });
  const token = newToken(cryptoRandom);
  await store.addToken({ id: 't1', label: 'ci', tokenHash: hashToken(token), createdAt: clock.now(), revokedAt: null });
  const logs: LogLine[] = [];
  const logger = memoryLogger(logs);
  const users = buildUsers({ server: serverConfig({ portalListen: '192.168.50.1:8081' }), stanzas: [], warnings: [] }, { store, clock, random: cryptoRandom, logger });
  let stanzas: readonly AccessStanza[] = [];
  const live: Grant[] = [];
  const ended: string[] = [];
  await users.directory.attach({
    reloadStanzas: (s) => {
      stanzas = s;
    },
    liveGrants: () => [...live],
    end: (g, _o, detail) => {
      live.splice(live.indexOf(g), 1);
      ended.push(detail);
      return Promise.resolve();
    },
  });
  const control = new MemoryGatewayControl(clock, { backend: 'nftables', interface: 'eth1', capture: 'pcap', version: '0.1.0' });
  const app = createApp({ control, events: store, admins: store, clock, random: cryptoRandom, logger, users });
  const server = createServer(app);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    store,
    users,
    clock,
    logs,
    stanzas: () => stanzas,
    ended,
    live,
    token,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

