/**
 * Refusals of user and enrollment operations, with a kind the web layer maps to a status
 * (invalid 400, not_found 404, conflict 409). The message is safe to show to an admin.
 */
export class UserError extends Error {
  constructor(
    readonly kind: 'invalid' | 'not_found' | 'conflict',
    message: string,
  ) {
    super(message);
    this.name = 'UserError';
  }
}
