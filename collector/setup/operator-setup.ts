// An operator's credentials made on the collector host: the API client certificate (issued by
// the collector CA) and, for `init`'s first operator, the Ed25519 signing key agents pin, both
// in one operator directory. The signing key is what agents obey; made here only when asked
// (`init`), since whoever holds the CA key should not also hold an operator's signing key:
// docs/commands.md, "Two credentials".
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { loadCa } from '../../certs/certificate-authority.js';
import { checkOperatorName, writeOperatorCertificate } from '../../certs/operator-certs.js';
import { pkiPaths } from '../../certs/pki-dir.js';
import { initOperatorKeys, OPERATOR_KEY_FILE, OPERATOR_PUB_FILE } from '../../shared/commands/operator-keys.js';
import { KeyFileError } from '../../shared/keys/key-file-error.js';

export interface OperatorRequest {
  name: string;
  /** the operator directory to write */
  dir: string;
  days?: number;
  /** also create op.key / op.pub there */
  signingKey: boolean;
  /** replace an existing signing key (the old files are kept, renamed) */
  force?: boolean;
}

export interface CreatedOperator {
  name: string;
  dir: string;
  serial: string;
  notAfter: string;
  /** the signing key's id, null when none was made */
  keyId: string | null;
  /** op.pub, to pin on agents (null without a signing key) */
  publicKeyFile: string | null;
}

/** Refuses before anything is written when the signing key exists (and force is not set). */
export function checkOperatorTarget(req: OperatorRequest): void {
  checkOperatorName(req.name);
  if (req.signingKey && !req.force) {
    for (const f of [OPERATOR_KEY_FILE, OPERATOR_PUB_FILE]) {
      const p = join(req.dir, f);
      if (existsSync(p)) throw new KeyFileError(p, 'already exists; refusing to overwrite an operator signing key (agents pin it); use --force to replace it');
    }
  }
}

export function createOperator(pkiDir: string, req: OperatorRequest): CreatedOperator {
  checkOperatorTarget(req);
  const paths = pkiPaths(pkiDir);
  const ca = loadCa(paths.caCert, paths.caKey);
  const creds = writeOperatorCertificate(pkiDir, ca, req.name, req.dir, req.days ? { days: req.days } : {});
  const key = req.signingKey ? initOperatorKeys(req.dir, { name: req.name, force: req.force === true }) : null;
  return {
    name: req.name, dir: req.dir, serial: creds.serial, notAfter: creds.notAfter.toISOString(),
    keyId: key?.keyId ?? null, publicKeyFile: key ? join(req.dir, OPERATOR_PUB_FILE) : null,
  };
}
