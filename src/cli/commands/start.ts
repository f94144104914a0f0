import { spawn } from 'node:child_process';
import { mkdir, open } from 'node:fs/promises';
import { join } from 'node:path';
import { createLogger } from '../../adapters/pino-logger.js';
import { cryptoRandom, systemClock } from '../../adapters/system-clock.js';
import { ConfigError } from '../../core/errors.js';
import { formatProblem, loadGatewayConfig, parseStartFlags, START_USAGE, type StartFlags } from '../../config/index.js';
import { buildAdapters, createGateway } from '../../daemon.js';
import { dashboardService } from '../../web/service.js';
import { PrometheusMetrics } from '../../metrics.js';
import { portalServices } from '../../portal/service.js';
import { ExecFileRunner } from '../../adapters/command-runner.js';
import type { CliIo, Command } from '../io.js';
import { claimPidFile } from '../pidfile.js';

/**
 * `spagate start`: fwknopd's flags and files. Without -f it detaches like fwknopd and logs
 * to <data dir>/spagate.log; with -f it stays in the foreground and logs JSON to stdout.
 */
export const start: Command = async (argv, io) => {
  const flags = parseStartFlags(argv);
  if (flags.help) {
    io.stdout.write(START_USAGE);
    return 0;
  }
  const loadOpts = { configFile: flags.configFile, accessFile: flags.accessFile, overrideFiles: flags.overrideFiles, flags, env: io.env };
  let config;
  try {
    config = await loadGatewayConfig(loadOpts);
  } catch (e) {
    if (e instanceof ConfigError) {
      for (const p of e.problems) io.stderr.write(`${formatProblem(p)}\n`);
      io.stderr.write(`spagate start: ${e.problems.length} configuration error(s); not started\n`);
      return 1;
    }
    throw e;
  }
  if (!flags.foreground) return detach(argv, config.server.dataDir, io);

  const logger = createLogger(config.server.logLevel);
  for (const w of config.warnings) logger.warn({ config: true }, w);
  // A reload asked for while starting (the pid file exists already) must not kill the daemon,
  // which is SIGHUP's default action: remember it and reload once the gateway runs.
  let earlyHup = false;
  const onEarlyHup = (): void => void (earlyHup = true);
  process.on('SIGHUP', onEarlyHup);
  const releasePid = await claimPidFile(config.server.pidFile);
  let running;
  try {
    const adapters = await buildAdapters(config, { logger, clock: systemClock, random: cryptoRandom, digestFile: flags.digestFile });
    const portal = portalServices(config, { clock: systemClock, logger, runner: new ExecFileRunner(), redeemer: adapters.users?.enrollment ?? null });
    const metrics = new PrometheusMetrics({ clock: systemClock });
    const admin = dashboardService(config, adapters, { metrics, hostnameFor: (ip) => portal.hostnameFor(ip) });
    running = await createGateway(config, { ...adapters, metrics, services: [...portal.services, ...admin] });
  } catch (e) {
    await releasePid();
    logger.error({ err: e }, 'start failed');
    io.stderr.write(`spagate start: ${e instanceof Error ? e.message : String(e)}\n`);
    return 1;
  }
  const gw = running;
  return new Promise<number>((resolve) => {
    let stopping = false;
    const stop = (signal: string): void => {
      if (stopping) return;
      stopping = true;
      logger.info({ signal }, 'stopping');
      void gw
        .stop()
        .then(releasePid)
        .then(() => resolve(0), (e: unknown) => {
          logger.error({ err: e }, 'stop failed');
          resolve(1);
        });
    };
    process.once('SIGTERM', () => stop('SIGTERM'));
    process.once('SIGINT', () => stop('SIGINT'));
    process.on('SIGHUP', () => void reload(flags, io, gw.reload, logger));
    process.off('SIGHUP', onEarlyHup);
    if (earlyHup) void reload(flags, io, gw.reload, logger);
  });
};

/** SIGHUP: read access.conf again; a broken file keeps the old stanzas and says why. */
async function reload(
  flags: StartFlags,
  io: CliIo,
  apply: (s: Awaited<ReturnType<typeof loadGatewayConfig>>['stanzas']) => void,
  logger: ReturnType<typeof createLogger>,
): Promise<void> {
  try {
    const c = await loadGatewayConfig({ configFile: flags.configFile, accessFile: flags.accessFile, overrideFiles: flags.overrideFiles, flags, env: io.env });
    apply(c.stanzas);
  } catch (e) {
    const problems = e instanceof ConfigError ? e.problems.map(formatProblem) : [String(e)];
    logger.error({ problems }, 'reload failed; keeping the current access stanzas');
  }
}

async function detach(argv: string[], dataDir: string, io: CliIo): Promise<number> {
  await mkdir(dataDir, { recursive: true, mode: 0o700 });
  const logFile = join(dataDir, 'spagate.log');
  const fh = await open(logFile, 'a', 0o600);
  const child = spawn(process.execPath, [process.argv[1] ?? '', 'start', ...argv, '-f'], {
    detached: true,
    stdio: ['ignore', fh.fd, fh.fd],
    env: io.env,
  });
  child.unref();
  await fh.close();
  io.stdout.write(`spagate started in the background (pid ${child.pid ?? '?'}), logging to ${logFile}\n`);
  return 0;
}
