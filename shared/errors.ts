// The base of every error Meerkat throws on purpose. Each class carries a stable `code`
// ("MEERKAT_ERR_DUMP_FORMAT") that scripts, log searches and the CLIs' --json output can rely
// on while messages are reworded; docs/errors.md lists them all. A message names the input
// and what was expected; the code names the kind of failure.

export abstract class MeerkatError extends Error {
  /** stable identifier of the kind of error, MEERKAT_ERR_* (docs/errors.md) */
  abstract readonly code: string;
}

/**
 * Input the user gave (a flag value, a config file, an address, a duration) that cannot be
 * used. The CLIs exit 2 for these (usage or configuration error), 1 for every other error.
 */
export abstract class InputError extends MeerkatError {}

/** The code of any thrown value: its own for a MeerkatError, MEERKAT_ERR_UNEXPECTED otherwise. */
export function errorCode(e: unknown): string {
  return e instanceof MeerkatError ? e.code : 'MEERKAT_ERR_UNEXPECTED';
}
