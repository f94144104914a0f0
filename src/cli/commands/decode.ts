import type { Command } from '../io.js';

// Placeholder until this command lands; it exits non-zero so nothing mistakes it for working.
export const decode: Command = (_argv, io) => {
  io.stderr.write('spagate decode: not built yet\n');
  return Promise.resolve(1);
};
