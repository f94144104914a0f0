/**
 * Reads `nft -j -n list table ip <table>` output back into elements keyed the way
 * nftables.ts writes them. Anything that is not one of our sets is ignored; anything
 * malformed in our sets is a FirewallError (we would otherwise misjudge what is open).
 */
import { FirewallError } from '../errors.js';
import { NFT_SET_NAMES, parseElementComment, type NftSetName } from './nftables.js';

export interface ListedElement {
  set: NftSetName;
  key: string;
  value: string | null;
  /** Owner from the comment, null for an element without one of our comments. */
  owner: { id: string; expiresAt: number } | null;
  /** Seconds left as the kernel reports them (whole seconds, rounded down), or null. */
  expiresSec: number | null;
  counter: { packets: number; bytes: number } | null;
}

export interface TableListing {
  /** Names of our sets present in the table. */
  sets: Set<NftSetName>;
  elements: ListedElement[];
}

const SETS = new Set<string>(NFT_SET_NAMES);

function isObj(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function scalar(v: unknown, what: string): string {
  if (typeof v === 'string' || typeof v === 'number') return String(v);
  throw new FirewallError(`unexpected ${what} in nft listing: ${JSON.stringify(v)?.slice(0, 200)}`);
}

/** `"1.2.3.4"`, `80` or `{"concat": [...]}` to `1.2.3.4 . 6 . 80`. */
function valueText(v: unknown, what: string): string {
  if (isObj(v) && Array.isArray(v.concat)) return v.concat.map((p) => scalar(p, what)).join(' . ');
  return scalar(v, what);
}

function num(v: unknown): number | null {
  return typeof v === 'number' && Number.isFinite(v) ? v : null;
}

function parseElem(set: NftSetName, raw: unknown, isMap: boolean): ListedElement {
  let keyPart: unknown = raw;
  let value: string | null = null;
  if (isMap) {
    if (!Array.isArray(raw) || raw.length !== 2)
      throw new FirewallError(`unexpected map element in nft listing of ${set}`);
    keyPart = raw[0];
    value = valueText(raw[1], `data of ${set}`);
  }
  let meta: Record<string, unknown> = {};
  if (isObj(keyPart) && isObj(keyPart.elem)) {
    meta = keyPart.elem;
    keyPart = meta.val;
  }
  const comment = typeof meta.comment === 'string' ? meta.comment : null;
  const c = isObj(meta.counter) ? meta.counter : null;
  const packets = c ? num(c.packets) : null;
  const bytes = c ? num(c.bytes) : null;
  return {
    set,
    key: valueText(keyPart, `key of ${set}`),
    value,
    owner: comment === null ? null : parseElementComment(comment),
    expiresSec: num(meta.expires),
    counter: packets !== null && bytes !== null ? { packets, bytes } : null,
  };
}

/** Parses the JSON text; `table` names the table whose sets count. */
export function parseTableListing(json: string, table: string): TableListing {
  let doc: unknown;
  try {
    doc = JSON.parse(json);
  } catch (e) {
    throw new FirewallError('nft -j printed something that is not JSON', { cause: e });
  }
  if (!isObj(doc) || !Array.isArray(doc.nftables))
    throw new FirewallError('nft -j output has no "nftables" array');
  const out: TableListing = { sets: new Set(), elements: [] };
  for (const item of doc.nftables) {
    if (!isObj(item)) continue;
    const isMap = isObj(item.map);
    const s = isMap ? item.map : item.set;
    if (
      !isObj(s) ||
      s.table !== table ||
      s.family !== 'ip' ||
      typeof s.name !== 'string' ||
      !SETS.has(s.name)
    )
      continue;
    const name = s.name as NftSetName;
    out.sets.add(name);
    if (!Array.isArray(s.elem)) continue;
    for (const e of s.elem) out.elements.push(parseElem(name, e, isMap));
  }
  return out;
}

/**
 * Counters from the text of `nft -n get element ...` (nft 1.0.6 prints that command as
 * text even with -j), keyed like our element text.
 */
export function parseElementCounters(text: string): Map<string, { packets: number; bytes: number }> {
  const out = new Map<string, { packets: number; bytes: number }>();
  for (const m of text.matchAll(/(?:\{|,)\s*([^{},]+?) counter packets (\d+) bytes (\d+)/g)) {
    out.set(m[1].trim(), { packets: Number(m[2]), bytes: Number(m[3]) });
  }
  return out;
}
