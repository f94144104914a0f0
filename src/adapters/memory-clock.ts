import type { Clock } from '../core/ports.js';

/** A clock that moves only when told to: for tests and reproducible runs. */
export class ManualClock implements Clock {
  constructor(private t = 1_800_000_000_000) {}
  now(): number {
    return this.t;
  }
  set(ms: number): void {
    this.t = ms;
  }
  advance(ms: number): void {
    this.t += ms;
  }
}
