/**
 * The command's exit codes: 0 holds (for the catalogue table: every expectation met), 1 a
 * violation (table: the corrected design violated, or a broken variant not caught), 2 usage or
 * input error, 3 incomplete (a limit was hit, Ctrl-C or SIGTERM: what was covered is printed), 4 a
 * model error (a fault of the model or of a driver's model code itself — unknown label, a frame
 * overflow, a routine outside the model — never a verdict on the design) or an internal error.
 */
export const EXIT_HOLDS = 0;
export const EXIT_VIOLATION = 1;
export const EXIT_USAGE = 2;
export const EXIT_INCOMPLETE = 3;
export const EXIT_MODEL_ERROR = 4;

/** An input or usage error: exit 2 with its message on one line. */
export class UsageError extends Error {}

export function fail(message: string): never {
  throw new UsageError(message);
}
