/**
 * The one error type that hvlab's host raises for bad user input (files, options, configs).
 * `code` is a stable machine-readable name; `message` is one line a person can act on.
 * The CLI prints `hvlab: <message>` and exits non-zero without a stack trace.
 */
export class HvlabError extends Error {
  readonly code: string;
  constructor(code: string, message: string) {
    super(message);
    this.name = 'HvlabError';
    this.code = code;
  }
}
