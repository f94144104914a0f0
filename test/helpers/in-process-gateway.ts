/**
 * The whole gateway in-process through the composition root (createGateway), on in-memory
 * adapters: MemoryStore, MemoryFirewall, MemoryPacketSource and a manual clock. Packets are
 * real SPA packets made with encodeSpa.
 */
import { createHash } from 'node:crypto';
import type { DestinationStream } from 'pino';
import { MemoryFirewall } from '../../src/adapters/memory-firewall.js';
import { ManualClock } from '../../src/adapters/memory-clock.js';
import { MemoryPacketSource } from '../../src/adapters/memory-packet-source.js';
import { MemoryStore } from '../../src/adapters/memory-store.js';
import { createLogger } from '../../src/adapters/pino-logger.js';
import type { AccessStanza, GatewayConfig, ServerConfig } from '../../src/core/config-model.js';
import type { ReceivedPacket } from '../../src/core/model.js';
import type { RandomSource } from '../../src/core/ports.js';
import { encodeSpa } from '../../src/core/spa/encode.js';
import type { SpaFields } from '../../src/core/spa/types.js';
import { createGateway, type RunningGateway, type Service } from '../../src/daemon.js';
import type { GatewayMetrics } from '../../src/gateway.js';
import { accessFields, serverConfig, stanza } from './fixtures.js';

export const NOW = 1_800_000_000_000;

/** Deterministic randomness (grant ids, salts) so failures reproduce. */
export function counterRandom(seed: string): RandomSource {
  let n = 0;
  return { bytes: (k) => createHash('sha512').update(`${seed}:${n++}`).digest().subarray(0, k) };
}

/** Collects everything pino writes, one string per line. */
export class LogBuffer implements DestinationStream {
  readonly chunks: string[] = [];
  write(s: string): void {
    this.chunks.push(s);
  }
  get text(): string {
    return this.chunks.join('');
  }
  lines(): Record<string, unknown>[] {
    return this.text
      .split('\n')
      .filter((l) => l.length > 0)
      .map((l) => JSON.parse(l) as Record<string, unknown>);
  }
}

export interface InProcess {
  running: RunningGateway;
  clock: ManualClock;
  store: MemoryStore;
  firewall: MemoryFirewall;
  source: MemoryPacketSource;
  logs: LogBuffer;
  stanzas: AccessStanza[];
  /** Encode a packet for `s` (default: the first stanza) and deliver it from `src`. */
  knock(o?: { s?: AccessStanza; src?: string; fields?: Partial<SpaFields> }): Buffer;
  /** Deliver raw bytes as a packet from `src`. */
  inject(payload: Buffer, src?: string): void;
  /** Let queued grant work and event flushes finish. */
  settle(): Promise<void>;
  stop(): Promise<void>;
}

export function packetFrom(payload: Buffer, src: string, at: number): ReceivedPacket {
  return { payload, srcIp: src, srcPort: 40000, dstIp: '10.0.0.1', dstPort: 62201, srcMac: '02:00:00:00:00:09', proto: 17, receivedAt: at };
}

export async function startInProcess(
  o: { stanzas?: AccessStanza[]; server?: Partial<ServerConfig>; metrics?: GatewayMetrics; services?: Service[]; logLevel?: string } = {},
): Promise<InProcess> {
  const clock = new ManualClock(NOW);
  const stanzas = o.stanzas ?? [stanza()];
  const server = serverConfig(o.server);
  const config: GatewayConfig = { server, stanzas, warnings: [] };
  const store = new MemoryStore();
  const firewall = new MemoryFirewall({ chains: server.chains });
  const logs = new LogBuffer();
  const logger = createLogger(o.logLevel ?? 'trace', logs);
  const source = new MemoryPacketSource({ logger, clock });
  const random = counterRandom('in-process');
  const running = await createGateway(config, { store, firewall, source, clock, random, logger, metrics: o.metrics, services: o.services });
  const inject = (payload: Buffer, src = '10.0.0.9'): void => {
    source.inject(packetFrom(payload, src, clock.now()));
  };
  return {
    running,
    clock,
    store,
    firewall,
    source,
    logs,
    stanzas,
    knock: ({ s = stanzas[0], src = '10.0.0.9', fields = {} } = {}) => {
      const f = accessFields(Math.floor(clock.now() / 1000), fields);
      const payload = Buffer.from(encodeSpa(f, { key: s.key, hmacKey: s.hmacKey, hmacType: s.hmacType, mode: s.encryptionMode }, { digestType: 'sha256', random }), 'latin1');
      inject(payload, src);
      return payload;
    },
    inject,
    settle: async () => {
      for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
      await running.gateway.events.flush();
    },
    stop: () => running.stop(),
  };
}
