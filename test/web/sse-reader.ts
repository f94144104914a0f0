/** Reads server-sent events from a fetch body, keeping what was buffered between calls. */
export class SseReader {
  private readonly reader: ReadableStreamDefaultReader<Uint8Array>;
  private readonly decoder = new TextDecoder();
  private buf = '';

  constructor(res: Response) {
    this.reader = res.body!.getReader();
  }

  /** The data of the next `want` events named `name` (others are skipped). */
  async next(name: string, want: number, timeoutMs = 5000): Promise<unknown[]> {
    const out: unknown[] = [];
    const deadline = Date.now() + timeoutMs;
    while (out.length < want) {
      let i: number;
      while (out.length < want && (i = this.buf.indexOf('\n\n')) >= 0) {
        const block = this.buf.slice(0, i);
        this.buf = this.buf.slice(i + 2);
        const ev = /^event: (.*)$/m.exec(block)?.[1];
        const data = /^data: (.*)$/m.exec(block)?.[1];
        if (ev === name && data !== undefined) out.push(JSON.parse(data));
      }
      if (out.length >= want) break;
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out with ${out.length} ${name} events`);
      let timer: NodeJS.Timeout | undefined;
      const chunk = await Promise.race([
        this.reader.read(),
        new Promise<never>((_, rej) => (timer = setTimeout(() => rej(new Error('read timeout')), left))),
      ]).finally(() => clearTimeout(timer));
      if (chunk.done) throw new Error('stream ended');
      this.buf += this.decoder.decode(chunk.value, { stream: true });
    }
    return out;
  }
}
