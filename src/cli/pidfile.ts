import { readFile, unlink, writeFile, mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';

/** True when a process with this pid exists (signal 0 probes without touching it). */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Writes the pid file, refusing to start when it names a running process (as fwknopd does:
 * two daemons on one gateway would fight over the same chains). A stale file is replaced.
 */
export async function claimPidFile(path: string): Promise<() => Promise<void>> {
  const old = await readFile(path, 'utf8').catch(() => null);
  const pid = old === null ? NaN : Number(old.trim());
  if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && alive(pid)) {
    throw new Error(`another instance is running (pid ${pid}, pid file ${path})`);
  }
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, `${process.pid}\n`, { mode: 0o644 });
  return async () => {
    const now = await readFile(path, 'utf8').catch(() => null);
    if (now !== null && Number(now.trim()) === process.pid) await unlink(path).catch(() => undefined);
  };
}
