/**
 * Enrollment: an admin issues a one-time code for a user; on the new device the user types it
 * into the captive portal and gets the user's stanza (with freshly rotated keys) and its QR
 * code. Codes are 8 characters from an alphabet without look-alikes (no 0/O, 1/I/L), expire,
 * work once, and only their SHA-256 is stored. Failed and repeated attempts are limited per
 * client address and in total, which bounds guessing (31^8, about 2^39.6 codes).
 */
import { createHash } from 'node:crypto';
import type { Clock, EnrollmentRecord, Logger, RandomSource, UserStore } from '../core/ports.js';
import { RateLimiter } from '../web/rate-limit.js';
import { qrPngDataUrl } from './client-config.js';
import type { NewUser, UserDirectory } from './directory.js';
import { UserError } from './errors.js';
import { USER_NAME_RE } from './user-stanza.js';

/** The portal's side of enrollment (agreed interface; the portal calls nothing else). */
export interface EnrollmentRedeemer {
  redeem(
    code: string,
    client: { ip: string; mac: string | null },
  ): Promise<{ user: string; fwknoprc: string; qrPngDataUrl: string } | { error: string }>;
}

export const CODE_ALPHABET = 'ABCDEFGHJKMNPQRSTUVWXYZ23456789';
export const CODE_LENGTH = 8;
/** How long used and expired codes stay listed. */
export const CODE_HISTORY_MS = 30 * 86_400_000;

/** `ABCD-EFGH` as shown to people; the dash and case are ignored when typed back. */
export function newEnrollmentCode(random: RandomSource): string {
  const n = CODE_ALPHABET.length;
  const limit = 256 - (256 % n);
  let out = '';
  while (out.length < CODE_LENGTH) {
    for (const b of random.bytes(16)) {
      // Rejection sampling keeps every character equally likely.
      if (b < limit && out.length < CODE_LENGTH) out += CODE_ALPHABET[b % n];
    }
  }
  return `${out.slice(0, 4)}-${out.slice(4)}`;
}

/** Upper-cases and drops blanks and dashes; null when the rest cannot be a code. */
export function normalizeCode(typed: string): string | null {
  if (typed.length > 64) return null;
  const s = typed.toUpperCase().replace(/[\s-]/g, '');
  if (s.length !== CODE_LENGTH) return null;
  for (const c of s) if (!CODE_ALPHABET.includes(c)) return null;
  return s;
}

export function hashCode(normalized: string): string {
  return createHash('sha256').update(`spagate-enrollment:${normalized}`, 'utf8').digest('hex');
}

export interface EnrollmentOptions {
  /** Default life of a code. Default 24 hours. */
  defaultTtlMs: number;
  /** Longest life an admin may give a code. Default 30 days. */
  maxTtlMs: number;
  /** Attempts per client address per window. Default 10. */
  maxPerClient: number;
  /** Failed attempts from all clients together per window. Default 100. */
  maxFailures: number;
  /** Default 15 minutes. */
  windowMs: number;
}

export const DEFAULT_ENROLLMENT_OPTIONS: EnrollmentOptions = {
  defaultTtlMs: 24 * 3_600_000,
  maxTtlMs: 30 * 86_400_000,
  maxPerClient: 10,
  maxFailures: 100,
  windowMs: 15 * 60_000,
};

export interface IssuedCode {
  id: string;
  /** Shown once; only its hash is kept. */
  code: string;
  user: string;
  expiresAt: number;
  /** True when the user did not exist and was created for this code. */
  createdUser: boolean;
}

export interface EnrollmentView {
  id: string;
  user: string;
  createdAt: number;
  createdBy: string;
  expiresAt: number;
  usedAt: number | null;
  usedBy: string | null;
  state: 'open' | 'used' | 'expired';
}

export interface EnrollmentDeps {
  store: UserStore;
  users: UserDirectory;
  clock: Clock;
  random: RandomSource;
  logger: Logger;
  options?: Partial<EnrollmentOptions>;
}

export class EnrollmentService implements EnrollmentRedeemer {
  private readonly opts: EnrollmentOptions;
  private readonly perClient: RateLimiter;
  private readonly failures: RateLimiter;
  private readonly log: Logger;

  constructor(private readonly deps: EnrollmentDeps) {
    this.opts = { ...DEFAULT_ENROLLMENT_OPTIONS, ...deps.options };
    this.perClient = new RateLimiter(this.opts.maxPerClient, this.opts.windowMs);
    this.failures = new RateLimiter(this.opts.maxFailures, this.opts.windowMs);
    this.log = deps.logger;
  }

  get options(): Readonly<EnrollmentOptions> {
    return this.opts;
  }

  /**
   * A new code for `user.name`; a user that does not exist is created (with `source`,
   * `options`, `expiresAt`) and can authenticate only after the code is redeemed.
   */
  async issue(user: NewUser, by: string, ttlMs?: number): Promise<IssuedCode> {
    if (!USER_NAME_RE.test(user.name)) throw new UserError('invalid', 'user: 1 to 64 letters, digits, ".", "_" or "-"');
    const ttl = ttlMs ?? this.opts.defaultTtlMs;
    if (!Number.isSafeInteger(ttl) || ttl < 60_000 || ttl > this.opts.maxTtlMs) {
      throw new UserError('invalid', `a code lives between 60 seconds and ${Math.floor(this.opts.maxTtlMs / 1000)} seconds`);
    }
    const createdUser = await this.deps.users.ensure(user, by);
    const now = this.deps.clock.now();
    const code = newEnrollmentCode(this.deps.random);
    const rec: EnrollmentRecord = {
      id: this.deps.random.bytes(6).toString('hex'),
      codeHash: hashCode(normalizeCode(code)!),
      user: user.name,
      createdAt: now,
      expiresAt: now + ttl,
      createdBy: by,
      usedAt: null,
      usedBy: null,
    };
    await this.deps.store.addEnrollment(rec);
    // Used and expired codes are kept a while for the dashboard, then go.
    await this.deps.store.pruneEnrollments(now - CODE_HISTORY_MS);
    this.log.info({ user: user.name, by, enrollment: rec.id, expiresAt: new Date(rec.expiresAt).toISOString() }, 'enrollment code issued');
    return { id: rec.id, code, user: user.name, expiresAt: rec.expiresAt, createdUser };
  }

  async list(): Promise<EnrollmentView[]> {
    const now = this.deps.clock.now();
    return (await this.deps.store.listEnrollments()).map((e) => ({
      id: e.id,
      user: e.user,
      createdAt: e.createdAt,
      createdBy: e.createdBy,
      expiresAt: e.expiresAt,
      usedAt: e.usedAt,
      usedBy: e.usedBy,
      state: e.usedAt !== null ? 'used' : e.expiresAt <= now ? 'expired' : 'open',
    }));
  }

  async redeem(
    code: string,
    client: { ip: string; mac: string | null },
  ): Promise<{ user: string; fwknoprc: string; qrPngDataUrl: string } | { error: string }> {
    const now = this.deps.clock.now();
    const wait = Math.max(this.perClient.blockedFor(client.ip, now), this.failures.blockedFor('*', now));
    if (wait > 0) {
      this.log.warn({ src: client.ip }, 'enrollment attempt refused: rate limited');
      return { error: `Too many attempts. Try again in ${Math.ceil(wait / 60_000)} minute(s).` };
    }
    this.perClient.hit(client.ip, now);
    const fail = (error: string, why: string): { error: string } => {
      this.failures.hit('*', now);
      this.log.warn({ src: client.ip, why }, 'enrollment attempt failed');
      return { error };
    };
    const normalized = normalizeCode(typeof code === 'string' ? code : '');
    if (normalized === null) return fail('That is not an enrollment code (8 letters and digits).', 'malformed');
    const rec = await this.deps.store.findEnrollmentByHash(hashCode(normalized));
    if (!rec) return fail('Unknown enrollment code.', 'unknown');
    if (rec.usedAt !== null) return fail('This code has already been used.', 'used');
    if (rec.expiresAt <= now) return fail('This code has expired. Ask an administrator for a new one.', 'expired');
    const owner = await this.deps.users.get(rec.user);
    if (!owner) return fail('The user of this code no longer exists.', 'no user');
    if (owner.disabled) return fail('This account is disabled. Ask an administrator.', 'disabled');
    if (!(await this.deps.store.consumeEnrollment(rec.id, now, client.ip))) {
      return fail('This code has already been used.', 'used');
    }
    let issued;
    try {
      issued = await this.deps.users.rotateKeys(rec.user, `enrollment:${rec.id}`);
    } catch (e) {
      if (e instanceof UserError && e.kind === 'not_found') return fail('The user of this code no longer exists.', 'no user');
      throw e;
    }
    this.log.info({ user: rec.user, enrollment: rec.id, src: client.ip }, 'enrollment code redeemed');
    this.log.debug({ user: rec.user, mac: client.mac }, 'enrolled device');
    return { user: issued.user, fwknoprc: issued.fwknoprc, qrPngDataUrl: await qrPngDataUrl(issued.qrText) };
  }
}
