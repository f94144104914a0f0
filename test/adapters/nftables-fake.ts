/**
 * A stateful fake of `nft` (the subset spagate writes) and of iptables' check/insert/delete,
 * behind the CommandRunner interface. It keeps tables, sets and elements with expiry on a
 * manual clock, applies each `nft -f -` script as one transaction (all or nothing), and
 * refuses what the kernel refuses: deleting an absent element, re-adding a map element
 * with other data, deleting an absent table, rules naming unknown sets.
 */
import { CommandError } from '../../src/core/errors.js';
import type { Clock } from '../../src/core/ports.js';
import type { CommandResult, CommandRunner, RunOptions } from '../../src/adapters/command-runner.js';

interface FakeElement {
  value: string | null;
  expiresAt: number | null;
  timeoutMs: number | null;
  comment: string | null;
  packets: number;
  bytes: number;
}

interface FakeSet {
  isMap: boolean;
  type: string;
  counter: boolean;
  elements: Map<string, FakeElement>;
}

interface FakeTable {
  sets: Map<string, FakeSet>;
  chains: Map<string, string[]>;
}

const NFT = '/usr/sbin/nft';
const IPT = '/usr/sbin/iptables';
const PART = /^(\d{1,3}(\.\d{1,3}){3}|[0-9a-f]{2}(:[0-9a-f]{2}){5}|\d{1,5})$/;

export class FakeNetfilter implements CommandRunner {
  tables = new Map<string, FakeTable>();
  iptables = new Map<string, string[]>([
    ['INPUT', []],
    ['FORWARD', []],
    ['OUTPUT', []],
  ]);
  nftScripts = 0;
  /** `get element` calls (counter reads before replacing elements). */
  gets = 0;
  /** Fault injection: a script for which this returns true fails like a kernel refusal. */
  failWhen: ((script: string) => boolean) | null = null;

  constructor(private readonly clock: Clock) {}

  run(file: string, args: readonly string[], opts: RunOptions = {}): Promise<CommandResult> {
    try {
      if (file === NFT) return Promise.resolve(this.nft(args, opts.input ?? ''));
      if (file === IPT) return Promise.resolve(this.ipt(args));
      throw this.fail(file, args, `no such program ${file}`);
    } catch (e) {
      return Promise.reject(e instanceof Error ? e : new Error(String(e)));
    }
  }

  /** Live (unexpired) elements of one set, key to element. */
  live(table: string, set: string): Map<string, FakeElement> {
    const s = this.tables.get(table)?.sets.get(set);
    const out = new Map<string, FakeElement>();
    for (const [k, e] of s?.elements ?? [])
      if (e.expiresAt === null || e.expiresAt > this.clock.now()) out.set(k, e);
    return out;
  }

  /** Traffic: count packets against a live element, as the kernel's per-element counter does. */
  hit(table: string, set: string, key: string, packets: number, bytes: number): void {
    const e = this.live(table, set).get(key);
    if (!e) throw new Error(`no live element ${set} ${key}`);
    e.packets += packets;
    e.bytes += bytes;
  }

  private fail(file: string, args: readonly string[], msg: string, code = 1): CommandError {
    return new CommandError(file, args, code, msg, `${file}: ${msg}`);
  }

  private nft(args: readonly string[], input: string): CommandResult {
    if (args.join(' ') === '-f -') {
      this.nftScripts += 1;
      if (this.failWhen?.(input)) throw this.fail(NFT, args, 'Error: Could not process rule: injected fault');
      const saved = this.tables;
      this.tables = cloneTables(saved);
      try {
        for (const line of input.split('\n')) if (line.trim() !== '') this.line(line);
      } catch (e) {
        this.tables = saved;
        throw this.fail(NFT, args, (e as Error).message);
      }
      return { stdout: '', stderr: '' };
    }
    const m = /^-j -n list table ip (\w+)$/.exec(args.join(' '));
    if (m) return { stdout: this.listJson(m[1]), stderr: '' };
    const ls = /^-j -n list set ip (\w+) (\w+)$/.exec(args.join(' '));
    if (ls) return { stdout: this.listJson(ls[1], ls[2]), stderr: '' };
    const get = /^-n get element ip (\w+) (\w+) \{ (.+) \}$/.exec(args.join(' '));
    if (get) {
      this.gets += 1;
      // Like nft 1.0.6: text output even with -j, and all-or-nothing.
      const live = this.live(get[1], get[2]);
      const lines = get[3].split(', ').map((k) => {
        const e = live.get(k);
        if (!e) throw this.fail(NFT, args, 'Error: Could not process rule: No such file or directory');
        return `${k} counter packets ${e.packets} bytes ${e.bytes}`;
      });
      return {
        stdout: `table ip ${get[1]} {\n\tset ${get[2]} {\n\t\telements = { ${lines.join(',\n\t\t\t     ')} }\n\t}\n}\n`,
        stderr: '',
      };
    }
    throw this.fail(NFT, args, `fake nft does not know ${args.join(' ')}`);
  }

  private table(name: string): FakeTable {
    const t = this.tables.get(name);
    if (!t) throw new Error(`No such file or directory: table ${name}`);
    return t;
  }

  private set(table: string, name: string): FakeSet {
    const s = this.table(table).sets.get(name);
    if (!s) throw new Error(`No such file or directory: set ${name}`);
    return s;
  }

  private line(line: string): void {
    let m: RegExpExecArray | null;
    if ((m = /^add table ip (\w+)$/.exec(line))) {
      if (!this.tables.has(m[1])) this.tables.set(m[1], { sets: new Map(), chains: new Map() });
    } else if ((m = /^delete table ip (\w+)$/.exec(line))) {
      this.table(m[1]);
      this.tables.delete(m[1]);
    } else if (
      (m = /^add (set|map) ip (\w+) (\w+) \{ type ([^;]+); flags timeout;( counter;)? \}$/.exec(line))
    ) {
      const t = this.table(m[2]);
      const old = t.sets.get(m[3]);
      if (old && (old.type !== m[4] || old.counter !== Boolean(m[5])))
        throw new Error(`File exists: set ${m[3]} has another definition`);
      if (!old)
        t.sets.set(m[3], { isMap: m[1] === 'map', type: m[4], counter: Boolean(m[5]), elements: new Map() });
    } else if ((m = /^add chain ip (\w+) (\w+) \{ .+ \}$/.exec(line))) {
      const t = this.table(m[1]);
      if (!t.chains.has(m[2])) t.chains.set(m[2], []);
    } else if ((m = /^flush chain ip (\w+) (\w+)$/.exec(line))) {
      const c = this.table(m[1]).chains.get(m[2]);
      if (!c) throw new Error(`No such file or directory: chain ${m[2]}`);
      c.length = 0;
    } else if ((m = /^add rule ip (\w+) (\w+) (.+)$/.exec(line))) {
      const t = this.table(m[1]);
      const c = t.chains.get(m[2]);
      if (!c) throw new Error(`No such file or directory: chain ${m[2]}`);
      for (const ref of m[3].matchAll(/@(\w+)/g))
        if (!t.sets.has(ref[1])) throw new Error(`set ${ref[1]} does not exist`);
      c.push(m[3]);
    } else if ((m = /^(add|delete) element ip (\w+) (\w+) \{ (.+) \}$/.exec(line))) {
      this.element(m[1] as 'add' | 'delete', this.set(m[2], m[3]), m[4]);
    } else {
      throw new Error(`syntax error: ${line}`);
    }
  }

  private element(verb: 'add' | 'delete', s: FakeSet, body: string): void {
    const [head, value, ...rest] = body.split(' : ');
    if (rest.length > 0) throw new Error(`syntax error: ${body}`);
    const m =
      /^(.+?)(?: counter packets (\d+) bytes (\d+))?(?: timeout (\d+)ms)?(?: comment "([^"]*)")?$/.exec(head);
    if (!m) throw new Error(`syntax error: ${body}`);
    const key = m[1];
    const parts = key.split(' . ');
    if (parts.length !== s.type.split(' : ')[0].split(' . ').length || !parts.every((p) => PART.test(p)))
      throw new Error(`datatype mismatch: ${key} for ${s.type}`);
    const now = this.clock.now();
    const cur = s.elements.get(key);
    const present = cur !== undefined && (cur.expiresAt === null || cur.expiresAt > now);
    if (verb === 'delete') {
      if (!present) throw new Error(`No such file or directory: element ${key}`);
      s.elements.delete(key);
      return;
    }
    if (s.isMap !== (value !== undefined)) throw new Error(`map data mismatch for ${key}`);
    if (present) {
      if (s.isMap && cur.value !== value) throw new Error(`File exists: element ${key}`);
      return;
    }
    const timeoutMs = m[4] === undefined ? null : Number(m[4]);
    s.elements.set(key, {
      value: value ?? null,
      timeoutMs,
      expiresAt: timeoutMs === null ? null : now + timeoutMs,
      comment: m[5] ?? null,
      packets: m[2] === undefined ? 0 : Number(m[2]),
      bytes: m[3] === undefined ? 0 : Number(m[3]),
    });
  }

  private listJson(table: string, only?: string): string {
    const t = this.table(table);
    const items: unknown[] = [
      { metainfo: { version: '1.0.6', json_schema_version: 1 } },
      { table: { family: 'ip', name: table, handle: 1 } },
    ];
    const scalar = (p: string): string | number => (/^\d{1,5}$/.test(p) ? Number(p) : p);
    const val = (text: string): unknown => {
      const parts = text.split(' . ').map(scalar);
      return parts.length === 1 ? parts[0] : { concat: parts };
    };
    for (const [name, s] of t.sets) {
      if (only !== undefined && name !== only) continue;
      const elem: unknown[] = [];
      for (const [key, e] of this.live(table, name)) {
        const meta: Record<string, unknown> = { val: val(key) };
        if (e.timeoutMs !== null) meta.timeout = Math.floor(e.timeoutMs / 1000);
        if (e.expiresAt !== null) meta.expires = Math.floor((e.expiresAt - this.clock.now()) / 1000);
        if (e.comment !== null) meta.comment = e.comment;
        if (s.counter) meta.counter = { packets: e.packets, bytes: e.bytes };
        elem.push(s.isMap ? [{ elem: meta }, val(e.value!)] : { elem: meta });
      }
      const body = {
        family: 'ip',
        name,
        table,
        type: s.type,
        flags: ['timeout'],
        ...(elem.length ? { elem } : {}),
      };
      items.push(s.isMap ? { map: body } : { set: body });
    }
    return JSON.stringify({ nftables: items });
  }

  private ipt(args: readonly string[]): CommandResult {
    const [w, secs, t, table, verb, chain, ...rest] = args;
    if (w !== '-w' || secs !== '5' || t !== '-t' || table !== 'filter' || !chain)
      throw this.fail(IPT, args, 'fake iptables: unexpected arguments', 2);
    const rules = this.iptables.get(chain);
    if (!rules) throw this.fail(IPT, args, `No chain/target/match by that name: ${chain}`);
    const spec = verb === '-I' ? rest.slice(1).join(' ') : rest.join(' ');
    const at = rules.indexOf(spec);
    if (verb === '-C') {
      if (at < 0) throw this.fail(IPT, args, 'Bad rule (does a matching rule exist in that chain?)');
    } else if (verb === '-D') {
      if (at < 0) throw this.fail(IPT, args, 'Bad rule (does a matching rule exist in that chain?)');
      rules.splice(at, 1);
    } else if (verb === '-I') {
      if (rest[0] !== '1') throw this.fail(IPT, args, 'fake iptables inserts at 1 only', 2);
      rules.unshift(spec);
    } else throw this.fail(IPT, args, `fake iptables: verb ${verb}`, 2);
    return { stdout: '', stderr: '' };
  }
}

function cloneTables(src: Map<string, FakeTable>): Map<string, FakeTable> {
  const out = new Map<string, FakeTable>();
  for (const [name, t] of src) {
    const sets = new Map<string, FakeSet>();
    for (const [sn, s] of t.sets)
      sets.set(sn, { ...s, elements: new Map([...s.elements].map(([k, e]) => [k, { ...e }])) });
    out.set(name, { sets, chains: new Map([...t.chains].map(([c, r]) => [c, [...r]])) });
  }
  return out;
}
