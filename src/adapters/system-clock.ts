import { randomBytes } from 'node:crypto';
import type { Clock, RandomSource } from '../core/ports.js';

export const systemClock: Clock = { now: () => Date.now() };

export const cryptoRandom: RandomSource = { bytes: (n) => randomBytes(n) };
