import cron from 'node-cron';

/** Calls `fn` on a cron schedule (default: every second). Overlap protection is the caller's job. */
export class CronTrigger {
  private task: ReturnType<typeof cron.schedule> | null = null;

  constructor(
    private readonly fn: () => void,
    private readonly expression = '* * * * * *',
  ) {}

  start(): void {
    this.task = cron.schedule(this.expression, this.fn, { noOverlap: true });
  }

  stop(): void {
    void this.task?.stop();
    this.task = null;
  }
}
