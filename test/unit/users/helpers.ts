/** The gateway in-process (createGateway on memory adapters) with database users wired as the daemon wires them. */
import { MemoryFirewall } from '../../../src/adapters/memory-firewall.js';
import { ManualClock } from '../../../src/adapters/memory-clock.js';
import { MemoryPacketSource } from '../../../src/adapters/memory-packet-source.js';
import { MemoryStore } from '../../../src/adapters/memory-store.js';
import { createLogger } from '../../../src/adapters/pino-logger.js';
import type { AccessStanza, GatewayConfig, ServerConfig } from '../../../src/core/config-model.js';
import { encodeSpa } from '../../../src/core/spa/encode.js';
import { createGateway, type RunningGateway } from '../../../src/daemon.js';
import { buildUsers, type Users } from '../../../src/users/setup.js';
import { counterRandom, LogBuffer, NOW, packetFrom } from '../../helpers/in-process-gateway.js';
import { accessFields, serverConfig, stanza } from '../../helpers/fixtures.js';

export interface UsersInProcess {
  running: RunningGateway;
  users: Users;
  store: MemoryStore;
  firewall: MemoryFirewall;
  clock: ManualClock;
  logs: LogBuffer;
  /** A real SPA packet with these base64 keys, from `src`. */
  knock(keys: { key: string; hmac: string }, src?: string, username?: string): void;
  settle(): Promise<void>;
  stop(): Promise<void>;
}

/** Keys of an `.fwknoprc` stanza. */
export function keysOf(fwknoprc: string): { key: string; hmac: string } {
  const key = /^KEY_BASE64\s+(\S+)$/m.exec(fwknoprc)?.[1];
  const hmac = /^HMAC_KEY_BASE64\s+(\S+)$/m.exec(fwknoprc)?.[1];
  if (!key || !hmac) throw new Error('no keys in stanza');
  return { key, hmac };
}

export async function startUsersInProcess(
  o: { stanzas?: AccessStanza[]; server?: Partial<ServerConfig>; store?: MemoryStore } = {},
): Promise<UsersInProcess> {
  const clock = new ManualClock(NOW);
  const server = serverConfig(o.server);
  const config: GatewayConfig = { server, stanzas: o.stanzas ?? [stanza()], warnings: [] };
  const store = o.store ?? new MemoryStore();
  const firewall = new MemoryFirewall({ chains: server.chains });
  const logs = new LogBuffer();
  const logger = createLogger('debug', logs);
  const source = new MemoryPacketSource({ logger, clock });
  const random = counterRandom('users');
  const users = buildUsers(config, { store, clock, random, logger });
  const running = await createGateway(config, { store, firewall, source, clock, random, logger, users });
  return {
    running,
    users,
    store,
    firewall,
    clock,
    logs,
    knock: (keys, src = '10.0.0.9', username = 'someone') => {
      const payload = encodeSpa(
        accessFields(Math.floor(clock.now() / 1000), { username }),
        { key: Buffer.from(keys.key, 'base64'), hmacKey: Buffer.from(keys.hmac, 'base64'), hmacType: 'sha256', mode: 'cbc' },
        { digestType: 'sha256', random },
      );
      source.inject(packetFrom(Buffer.from(payload, 'latin1'), src, clock.now()));
    },
    settle: async () => {
      for (let i = 0; i < 10; i++) await new Promise((r) => setImmediate(r));
      await running.gateway.events.flush();
    },
    stop: () => running.stop(),
  };
}

export { NOW };
