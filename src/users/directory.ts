/**
 * The users of the gateway: the database stanzas beside access.conf's. Every change is
 * written to the store first, then the gateway's stanza list is rebuilt (access.conf's
 * stanzas followed by the active users'), so a new user can knock at once and a disabled or
 * deleted one cannot; disabling or deleting also ends the user's live grants.
 */
import type { AccessStanza, ServerConfig } from '../core/config-model.js';
import type { Grant } from '../core/model.js';
import type { Clock, Logger, RandomSource, UserRecord, UserStore } from '../core/ports.js';
import { issuedKeys, newUserKeys, type IssuedKeys, type SpaEndpoint } from './client-config.js';
import { UserError } from './errors.js';
import { activeUserStanzas, checkUserFields, compileUser, userStanzaId, type UserOption } from './user-stanza.js';

/** The part of the Gateway the directory drives (src/gateway.ts implements it). */
export interface UserGateway {
  reloadStanzas(stanzas: readonly AccessStanza[]): void;
  liveGrants(): Grant[];
  end(g: Grant, outcome: 'revoked' | 'ended' | 'expired', detail: string): Promise<void>;
}

export interface UserDirectoryDeps {
  store: UserStore;
  clock: Clock;
  random: RandomSource;
  logger: Logger;
  /** For compiling user stanzas exactly like access.conf's (chains, MAC binding default). */
  server: ServerConfig;
  /** access.conf's stanzas; replaced on SIGHUP through setFileStanzas. */
  fileStanzas: readonly AccessStanza[];
  /** Written into the `.fwknoprc` stanzas handed out. */
  endpoint: SpaEndpoint;
}

export type UserStatus = 'active' | 'disabled' | 'expired' | 'invalid';

/** A user as admins see it: never the keys. */
export interface UserView {
  name: string;
  source: string;
  options: UserOption[];
  disabled: boolean;
  expiresAt: number | null;
  createdAt: number;
  updatedAt: number;
  keysAt: number;
  /** False while nobody has seen the current keys (a user waiting for enrollment). */
  keysShown: boolean;
  status: UserStatus;
  liveGrants: number;
}

export interface NewUser {
  name: string;
  /** Default `ANY`. */
  source?: string;
  options?: readonly UserOption[];
  expiresAt?: number | null;
}

export class UserDirectory {
  private gateway: UserGateway | null = null;
  private fileStanzas: readonly AccessStanza[];
  private queue: Promise<unknown> = Promise.resolve();
  private readonly log: Logger;

  constructor(private readonly deps: UserDirectoryDeps) {
    this.fileStanzas = deps.fileStanzas;
    this.log = deps.logger;
  }

  get endpoint(): SpaEndpoint {
    return this.deps.endpoint;
  }

  /** Start driving this gateway: load the users and install their stanzas. */
  attach(gw: UserGateway): Promise<void> {
    this.gateway = gw;
    return this.serial(() => this.apply());
  }

  /** SIGHUP: access.conf was read again; the users stay. */
  setFileStanzas(stanzas: readonly AccessStanza[]): Promise<void> {
    this.fileStanzas = stanzas;
    return this.serial(() => this.apply());
  }

  async list(): Promise<UserView[]> {
    const users = await this.deps.store.listUsers();
    return users.map((u) => this.view(u));
  }

  async get(name: string): Promise<UserView | null> {
    const u = await this.deps.store.getUser(name);
    return u ? this.view(u) : null;
  }

  /** Creates a user with new random keys; the result is the only time they are shown. */
  create(n: NewUser, by: string): Promise<IssuedKeys> {
    return this.serial(async () => {
      const u = await this.newRecord(n);
      u.keysShown = true;
      await this.deps.store.addUser(u).catch((e: unknown) => {
        throw isConflict(e) ? new UserError('conflict', `user ${n.name} already exists`) : e;
      });
      this.log.info({ user: u.name, by }, 'user created');
      await this.apply();
      return issuedKeys(u, this.deps.endpoint);
    });
  }

  /**
   * For enrollment: a user that does not exist yet is created with keys nobody has seen
   * (useless until the code is redeemed, which rotates them). Returns whether it was created.
   */
  ensure(n: NewUser, by: string): Promise<boolean> {
    return this.serial(async () => {
      if (await this.deps.store.getUser(n.name)) return false;
      const u = await this.newRecord(n);
      await this.deps.store.addUser(u);
      this.log.info({ user: u.name, by }, 'user created for enrollment');
      await this.apply();
      return true;
    });
  }

  /** New random keys; the old ones stop working at once. Live grants stay. */
  rotateKeys(name: string, by: string): Promise<IssuedKeys> {
    return this.serial(async () => {
      const u = await this.must(name);
      const now = this.deps.clock.now();
      const next: UserRecord = { ...u, ...newUserKeys(this.deps.random), keysAt: now, updatedAt: now, keysShown: true };
      await this.save(next);
      this.log.info({ user: name, by }, 'user keys rotated');
      await this.apply();
      return issuedKeys(next, this.deps.endpoint);
    });
  }

  setDisabled(name: string, disabled: boolean, by: string): Promise<UserView> {
    return this.serial(async () => {
      const u = await this.must(name);
      const next: UserRecord = { ...u, disabled, updatedAt: this.deps.clock.now() };
      await this.save(next);
      this.log.info({ user: name, by }, disabled ? 'user disabled' : 'user enabled');
      await this.apply();
      if (disabled) await this.endGrants(name, `user ${name} disabled by ${by}`);
      return this.view(next);
    });
  }

  /** Null for never. A date in the past makes the user expired at once. */
  setExpiry(name: string, expiresAt: number | null, by: string): Promise<UserView> {
    return this.serial(async () => {
      const u = await this.must(name);
      const next: UserRecord = { ...u, expiresAt, updatedAt: this.deps.clock.now() };
      await this.save(next);
      this.log.info({ user: name, by, expiresAt }, 'user expiry set');
      await this.apply();
      return this.view(next);
    });
  }

  delete(name: string, by: string): Promise<void> {
    return this.serial(async () => {
      if (!(await this.deps.store.deleteUser(name))) throw new UserError('not_found', `no user ${name}`);
      this.log.info({ user: name, by }, 'user deleted');
      await this.apply();
      await this.endGrants(name, `user ${name} deleted by ${by}`);
    });
  }

  private async newRecord(n: NewUser): Promise<UserRecord> {
    const source = n.source ?? 'ANY';
    const options = (n.options ?? []).map((o) => ({ name: o.name, value: o.value }));
    const problems = checkUserFields(n.name, source, options);
    if (problems.length > 0) throw new UserError('invalid', problems.join('; '));
    if (await this.deps.store.getUser(n.name)) throw new UserError('conflict', `user ${n.name} already exists`);
    const now = this.deps.clock.now();
    const u: UserRecord = {
      name: n.name,
      source,
      options,
      ...newUserKeys(this.deps.random),
      disabled: false,
      expiresAt: n.expiresAt ?? null,
      createdAt: now,
      updatedAt: now,
      keysAt: now,
      keysShown: false,
    };
    const c = compileUser(u, this.deps.server, now);
    if (c.errors.length > 0) throw new UserError('invalid', c.errors.join('; '));
    return u;
  }

  private async must(name: string): Promise<UserRecord> {
    const u = await this.deps.store.getUser(name);
    if (!u) throw new UserError('not_found', `no user ${name}`);
    return u;
  }

  private async save(u: UserRecord): Promise<void> {
    if (!(await this.deps.store.updateUser(u))) throw new UserError('not_found', `no user ${u.name}`);
  }

  /** Rebuild the gateway's stanza list from access.conf's and the store's active users. */
  private async apply(): Promise<void> {
    const gw = this.gateway;
    if (!gw) return;
    const users = await this.deps.store.listUsers();
    const stanzas = activeUserStanzas(users, this.deps.server, this.deps.clock.now(), (user, errors) =>
      this.log.error({ user, errors }, 'user stanza does not compile; the user cannot authenticate'),
    );
    gw.reloadStanzas([...this.fileStanzas, ...stanzas]);
    this.log.debug({ fileStanzas: this.fileStanzas.length, users: stanzas.length }, 'stanzas rebuilt');
  }

  private async endGrants(name: string, detail: string): Promise<void> {
    const gw = this.gateway;
    if (!gw) return;
    const id = userStanzaId(name);
    for (const g of gw.liveGrants().filter((x) => x.stanzaId === id)) {
      await gw.end(g, 'revoked', detail).catch((e: unknown) => this.log.error({ err: e, grant: g.id }, 'could not end grant of user'));
    }
  }

  private view(u: UserRecord): UserView {
    const now = this.deps.clock.now();
    const compiled = compileUser(u, this.deps.server, now);
    const status: UserStatus = u.disabled
      ? 'disabled'
      : compiled.errors.length > 0
        ? 'invalid'
        : u.expiresAt !== null && u.expiresAt <= now
          ? 'expired'
          : 'active';
    const id = userStanzaId(u.name);
    return {
      name: u.name,
      source: u.source,
      options: u.options.map((o) => ({ ...o })),
      disabled: u.disabled,
      expiresAt: u.expiresAt,
      createdAt: u.createdAt,
      updatedAt: u.updatedAt,
      keysAt: u.keysAt,
      keysShown: u.keysShown,
      status,
      liveGrants: this.gateway?.liveGrants().filter((g) => g.stanzaId === id).length ?? 0,
    };
  }

  /** Changes run one at a time, so two admins cannot interleave a read-modify-write. */
  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.queue.then(fn, fn);
    this.queue = next.catch(() => undefined);
    return next;
  }
}

function isConflict(e: unknown): boolean {
  return typeof e === 'object' && e !== null && 'kind' in e && e.kind === 'conflict';
}
