// The collector's directories as the console finds them on the collector's host: --state-dir,
// else $MEERKAT_STATE_DIR, else the collector's default; the PKI in --pki-dir (or --dir), else
// $MEERKAT_PKI_DIR, else <state dir>/pki.
import { join } from 'node:path';
import { COLLECTOR_STATE_DIR } from '../shared/config/state-dirs.js';

/** The default shown in --help and used when no flag is given. */
export const DEFAULT_STATE_DIR = process.env.MEERKAT_STATE_DIR ?? COLLECTOR_STATE_DIR;

export function collectorStateDir(flag: string | undefined): string {
  return flag ?? DEFAULT_STATE_DIR;
}

export function collectorPkiDir(pkiDirFlag: string | undefined, stateDirFlag: string | undefined): string {
  return pkiDirFlag ?? process.env.MEERKAT_PKI_DIR ?? join(collectorStateDir(stateDirFlag), 'pki');
}
