/**
 * An error whose status and message are safe to show to the client. Anything else that
 * reaches the error middleware is logged and answered with a generic 500.
 */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly headers: Readonly<Record<string, string>> = {},
  ) {
    super(message);
    this.name = 'HttpError';
  }
}
