/**
 * A mistake in the user's input (a missing folder, a truncated graph, a bad pack).
 * The CLI prints `message` as one line and exits 2; anything else is a bug and keeps its stack.
 */
export class UserError extends Error {
  override readonly name = 'UserError';
  /** The file the problem is in, when there is one; `message` already names it. */
  readonly file: string | undefined;
  /** A stable code so tests and wrappers need not match on prose. */
  readonly code: string;

  constructor(code: string, message: string, file?: string) {
    super(message);
    this.code = code;
    this.file = file;
  }
}

export function isUserError(err: unknown): err is UserError {
  return err instanceof UserError;
}
