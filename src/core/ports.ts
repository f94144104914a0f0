/**
 * The ports the core declares and the adapters implement. Each has an in-memory version
 * under src/adapters/memory-*.ts for tests and dry runs.
 */
import type { Grant, GrantCounters, GrantRecord, ReceivedPacket, SpaEvent, StoredEvent } from './model.js';

/** Wall-clock time. Tests pass a manual clock. */
export interface Clock {
  /** Unix epoch milliseconds. */
  now(): number;
}

/** Cryptographically strong random bytes. */
export interface RandomSource {
  bytes(n: number): Buffer;
}

/** The subset of pino the rest of the code uses; adapters get a child logger as a parameter. */
export interface Logger {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
  child(bindings: Record<string, unknown>): Logger;
}

/**
 * Delivers received SPA datagrams. `start` resolves once the source is listening; the
 * handler is called synchronously per packet and must not throw (the source guards it
 * anyway and counts a throw as an internal error).
 */
export interface PacketSource {
  readonly kind: string;
  start(onPacket: (p: ReceivedPacket) => void): Promise<void>;
  stop(): Promise<void>;
}

/** A grant as found in the firewall: its id and the expiry written into its rules. */
export interface InstalledGrant {
  id: string;
  /** Epoch ms; from `_exp_<seconds>` comments this is a whole second. */
  expiresAt: number;
}

/**
 * The firewall: installs and removes the rules of grants. Implementations own their
 * chains (iptables: fwknop's FWKNOP_* chains) or table (nftables) and never touch others'
 * rules except the jumps into their own. Every method either fully succeeds or throws a
 * FirewallError/CommandError leaving the previous state in place.
 */
export interface Firewall {
  readonly backend: 'iptables' | 'nftables' | 'memory';
  /** Create owned chains/table and jumps. With `flush`, first remove everything owned. */
  start(opts: { flush: boolean }): Promise<void>;
  /** Install the rules of these grants (one batch). Re-installing a present grant id replaces it. */
  install(grants: readonly Grant[]): Promise<void>;
  /** Remove the rules of these grants (one batch); absent ones are ignored. */
  remove(grants: readonly Grant[]): Promise<void>;
  /** What is present now. */
  listInstalled(): Promise<InstalledGrant[]>;
  /** Remove every owned rule whose grant id is not in `keep`. Returns the ids removed. */
  removeOrphans(keep: ReadonlySet<string>): Promise<string[]>;
  /** Per grant id. */
  counters(): Promise<Map<string, GrantCounters>>;
  /** With `flush`, remove owned chains/table and jumps (FLUSH_IPT_AT_EXIT). */
  stop(opts: { flush: boolean }): Promise<void>;
}

/** One entry of the persistent replay cache (spec 10). */
export interface ReplayEntry {
  digest: string;
  proto: number;
  srcIp: string;
  srcPort: number;
  dstIp: string;
  dstPort: number;
  /** Epoch ms. */
  at: number;
}

export interface EventFilter {
  limit: number;
  /** Only events with id < before (paging). */
  before?: number;
  outcome?: string;
  srcIp?: string;
  user?: string;
}

/**
 * All persistent state. SQLite is the embedded implementation; everything SQL-specific
 * stays in that adapter so a shared PostgreSQL store can implement the same port.
 */
export interface Store {
  /** Insert a grant, or update the expiry of an existing id. */
  saveGrant(g: Grant): Promise<void>;
  endGrant(id: string, at: number, reason: string): Promise<void>;
  getGrant(id: string): Promise<GrantRecord | null>;
  /** Grants not ended (their expiry may have passed while the daemon was down). */
  liveGrants(): Promise<Grant[]>;
  /** Most recent first. */
  recentGrants(limit: number): Promise<GrantRecord[]>;

  addEvents(events: readonly SpaEvent[]): Promise<void>;
  listEvents(filter: EventFilter): Promise<StoredEvent[]>;
  /** Counts by outcome and reason of events at or after `since`. */
  eventCounts(since: number): Promise<{ outcome: string; reason: string; count: number }[]>;

  /** False when the digest was already present (nothing changed). */
  replayAdd(e: ReplayEntry): Promise<boolean>;
  replayGet(digest: string): Promise<ReplayEntry | null>;
  /** Entries at or after `since`, to warm an in-memory cache. */
  replayLoad(since: number): Promise<ReplayEntry[]>;
  /** Remove entries older than `before`; returns how many went. */
  replayPrune(before: number): Promise<number>;

  close(): Promise<void>;
}

/** A dashboard administrator. */
export interface AdminAccount {
  username: string;
  /** Self-describing hash string (e.g. `scrypt$N$r$p$salt$hash`); never the password. */
  passwordHash: string;
  createdAt: number;
}

/** An API token; only its hash is stored. */
export interface ApiToken {
  id: string;
  label: string;
  tokenHash: string;
  createdAt: number;
  revokedAt: number | null;
}

/** Dashboard accounts and API tokens, kept in the same database as the rest of the state. */
export interface AdminStore {
  getAdmin(username: string): Promise<AdminAccount | null>;
  /** Insert or replace the password hash. */
  setAdmin(a: AdminAccount): Promise<void>;
  listAdmins(): Promise<AdminAccount[]>;
  addToken(t: ApiToken): Promise<void>;
  findTokenByHash(tokenHash: string): Promise<ApiToken | null>;
  listTokens(): Promise<ApiToken[]>;
  revokeToken(id: string, at: number): Promise<boolean>;
}

/**
 * Why a store failed, so the daemon can react: `full` (disk or quota full) and
 * `readonly` (read-only file or file system) mean writes fail until an operator acts,
 * `cantopen` means the database could not be opened at all, `busy` that another process
 * held a lock past the busy timeout, `corrupt` that stored data is not what spagate wrote,
 * `closed` that the store was used after close(), `conflict` that a unique key was
 * reused (e.g. a token id). Adapters throw a StoreError carrying one of these as `kind`.
 */
export type StoreErrorKind =
  'full' | 'readonly' | 'cantopen' | 'busy' | 'corrupt' | 'closed' | 'conflict' | 'other';

/**
 * Retention for the parts of the store that grow without bound. The daemon calls these
 * on a schedule; the Store port itself never deletes history on its own.
 */
export interface StoreRetention {
  /** Delete events with `at` before this time; returns how many went. */
  pruneEvents(before: number): Promise<number>;
  /** Delete grants that ended before this time (live grants are never touched); returns how many went. */
  pruneEndedGrants(before: number): Promise<number>;
}

/**
 * A gateway user: one access stanza kept in the database beside access.conf's, compiled the
 * same way (its stanza id is `user:<name>`). Keys are random and stored as base64 text, since
 * the gateway needs them to verify packets; the database file is private (0600).
 */
export interface UserRecord {
  /** Unique; letters, digits, `.`, `_`, `-` (it names an `.fwknoprc` stanza too). */
  name: string;
  /** The stanza's SOURCE value (`ANY`, addresses, networks). */
  source: string;
  /** The stanza's other access.conf keywords in order, keys and expiry excepted. */
  options: readonly { name: string; value: string }[];
  keyBase64: string;
  hmacKeyBase64: string;
  /** A disabled user matches no packet. */
  disabled: boolean;
  /** Epoch ms after which the user no longer authenticates; null for never. */
  expiresAt: number | null;
  createdAt: number;
  updatedAt: number;
  /** Epoch ms of the last key change (creation counts as one). */
  keysAt: number;
  /** True once someone has been shown the current keys (creation, rotation or enrollment). */
  keysShown: boolean;
}

/** A one-time enrollment code; only the hash of the code is stored. */
export interface EnrollmentRecord {
  id: string;
  codeHash: string;
  /** The user whose keys redeeming rotates. */
  user: string;
  createdAt: number;
  expiresAt: number;
  createdBy: string;
  usedAt: number | null;
  /** Client address that redeemed it. */
  usedBy: string | null;
}

/**
 * Users and their enrollment codes. SQLite implements it in the same database as the rest;
 * a shared PostgreSQL store can implement it unchanged (nothing here is SQL-shaped).
 */
export interface UserStore {
  /** By name. */
  listUsers(): Promise<UserRecord[]>;
  getUser(name: string): Promise<UserRecord | null>;
  /** Throws a StoreError of kind `conflict` when the name is taken. */
  addUser(u: UserRecord): Promise<void>;
  /** Replaces every field of the user with this name; false when there is none. */
  updateUser(u: UserRecord): Promise<boolean>;
  /** Deletes the user and its enrollment codes; false when there was none. */
  deleteUser(name: string): Promise<boolean>;
  addEnrollment(e: EnrollmentRecord): Promise<void>;
  findEnrollmentByHash(codeHash: string): Promise<EnrollmentRecord | null>;
  /**
   * Marks the code used, atomically: true only for the one call that found it unused and
   * not expired at `at`, so a code can be redeemed once even under concurrent attempts.
   */
  consumeEnrollment(id: string, at: number, by: string): Promise<boolean>;
  /** Newest first. */
  listEnrollments(): Promise<EnrollmentRecord[]>;
  /** Deletes codes that expired or were used before `before`; returns how many went. */
  pruneEnrollments(before: number): Promise<number>;
}
