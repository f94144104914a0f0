import type { Command } from '../io.js';

// Placeholder until this command lands; it exits non-zero so nothing mistakes it for working.
export const knock: Command = (_argv, io) => {
  io.stderr.write('spagate knock: not built yet\n');
  return Promise.resolve(1);
};
