import type { HealthInfo } from '../deps.js';
import { displayTime, duration, isoTime } from './format.js';
import { reasonDescription, reasonLabel } from './event.js';

export interface ReasonCount {
  outcome: string;
  reason: string;
  label: string;
  title: string;
  count: number;
}

export interface HealthJson {
  status: 'ok';
  backend: string;
  interface: string | null;
  capture: string;
  test_mode: boolean;
  version: string;
  started_at: string;
  uptime_seconds: number;
  live_grants: number;
}

export interface OverviewJson {
  live_grants: number;
  since: string;
  accepted: number;
  rejected: number;
  /** Accepted and rejected packets per reason, largest first. */
  by_reason: ReasonCount[];
  health: HealthJson;
}

export const OVERVIEW_WINDOW_MS = 3_600_000;

export function healthJson(h: HealthInfo, liveGrants: number, now: number): HealthJson {
  return {
    status: 'ok',
    backend: h.backend,
    interface: h.interface,
    capture: h.capture,
    test_mode: h.testMode,
    version: h.version,
    started_at: isoTime(h.startedAt),
    uptime_seconds: Math.max(0, Math.floor((now - h.startedAt) / 1000)),
    live_grants: liveGrants,
  };
}

export function overviewJson(
  counts: readonly { outcome: string; reason: string; count: number }[],
  liveGrants: number,
  h: HealthInfo,
  now: number,
): OverviewJson {
  const packets = counts.filter((c) => c.outcome === 'accepted' || c.outcome === 'rejected');
  const sum = (o: string): number => packets.filter((c) => c.outcome === o).reduce((a, c) => a + c.count, 0);
  return {
    live_grants: liveGrants,
    since: isoTime(now - OVERVIEW_WINDOW_MS),
    accepted: sum('accepted'),
    rejected: sum('rejected'),
    by_reason: packets
      .map((c) => ({
        outcome: c.outcome,
        reason: c.reason,
        label: reasonLabel(c.reason),
        title: reasonDescription(c.reason),
        count: c.count,
      }))
      .sort((a, b) => b.count - a.count || a.reason.localeCompare(b.reason)),
    health: healthJson(h, liveGrants, now),
  };
}

/** The overview page adds display strings to the JSON shape. */
export interface OverviewView extends OverviewJson {
  startedAtText: string;
  uptimeText: string;
  sinceText: string;
}

export function overviewView(o: OverviewJson, h: HealthInfo, now: number): OverviewView {
  return {
    ...o,
    startedAtText: displayTime(h.startedAt),
    uptimeText: duration((now - h.startedAt) / 1000),
    sinceText: displayTime(now - OVERVIEW_WINDOW_MS),
  };
}
