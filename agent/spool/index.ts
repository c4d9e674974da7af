// Public surface of the agent's spool.
export { Spool, type SpoolOptions, type SpoolStats, spoolFileName, KEY_FILE, QUARANTINE_DIR } from './spool.js';
export { SpoolError, SpoolCorruptError } from './spool-errors.js';
