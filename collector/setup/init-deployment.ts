// A new deployment, in the order `meerkat-collector init` makes it: every precondition checked
// first (nothing is written when one fails), then the PKI (CA, agents' server certificate,
// revocation list), the configuration file, the default organisation, the first operator (API
// certificate and signing key in one operator directory, a user who is admin of the default
// organisation and collector administrator, and the console settings that point `meerkat` at
// this collector), the first enrollment token, and - when root runs it for the collector's service
// account - ownership of what was made in the state directory handed to that account.
import { chownSync, existsSync, lstatSync, mkdirSync, readdirSync, statSync } from 'node:fs';
import { dirname, isAbsolute, join, relative, resolve } from 'node:path';
import { InputError, MeerkatError } from '../../shared/errors.js';
import { initPki, pkiPaths, PkiExistsError } from '../../certs/pki-dir.js';
import { loadCa } from '../../certs/certificate-authority.js';
import { ensureAdminServerCert } from '../../certs/operator-certs.js';
import { isIP } from 'node:net';
import { PUBLIC_MODE, writeFileAtomic } from '../../certs/pem-files.js';
import { consoleConfigText, prepareConsoleConfigDir, type ConsoleConfig } from '../../shared/config/console-config.js';
import { splitHostPort } from '../server/server-config.js';
import { checkOperatorTarget, createOperator, type CreatedOperator } from './operator-setup.js';
import { issueEnrollToken, type IssuedToken } from './enroll-tokens.js';
import { agentSteps, type InstructionStep } from './agent-instructions.js';
import { openCollectorState } from '../orgs/collector-state.js';
import { DEFAULT_ORG } from '../../shared/orgs/org-id.js';

/** `init` where a deployment already is (configuration or CA): nothing was changed. */
export class DeploymentExistsError extends MeerkatError {
  readonly code = 'MEERKAT_ERR_DEPLOYMENT_EXISTS';
  constructor(what: string) {
    super(`${what} already exists; refusing to replace a deployment (use --force to start over: every enrolled agent must enroll again)`);
    this.name = 'DeploymentExistsError';
  }
}

export interface InitRequest {
  configFile: string;
  stateDir: string;
  /** names and addresses agents use to reach the collector (at least one) */
  names: string[];
  ips: string[];
  listen: string;
  api: string;
  ops: string;
  operator: { name: string; dir: string };
  token: { uses: number; expiresInSec: number };
  /** where to write the console settings of the operator (null: do not write them) */
  consoleConfigFile: string | null;
  force: boolean;
}

export interface InitResult {
  configFile: string;
  stateDir: string;
  pkiDir: string;
  caFingerprintSha256: string;
  /** what agents enroll with */
  collectorUrl: string;
  /** what the console talks to (null when the API is off) */
  apiUrl: string | null;
  listen: string;
  api: string;
  ops: string;
  operator: CreatedOperator;
  /** the console settings written, or null (existing file kept, or not asked) */
  consoleConfig: { file: string; written: boolean; values: ConsoleConfig } | null;
  token: IssuedToken;
  /** ownership handed to the state directory's owner (root ran init), or null */
  chownedTo: { uid: number; gid: number } | null;
  next: InstructionStep[];
}

function hostText(h: string): string {
  return h.includes(':') ? `[${h}]` : h;
}

/** https://NAME:PORT agents use: the first name, else the first address, with the listen port. */
export function collectorUrlOf(names: readonly string[], ips: readonly string[], listen: string): string {
  return `https://${hostText(names[0] ?? ips[0]!)}:${splitHostPort(listen).port}`;
}

/** The console's API URL: the API's own address, or (listening on every address) the first name agents use. */
export function apiUrlOf(api: string, names: readonly string[], ips: readonly string[]): string | null {
  if (api === 'off') return null;
  const { host, port } = splitHostPort(api);
  const anyHost = host === '0.0.0.0' || host === '::' || host === '';
  return `https://${hostText(anyHost ? (names[0] ?? ips[0] ?? '127.0.0.1') : host)}:${port}`;
}

/** The names the API certificate carries beyond loopback: the API's own address, or every name agents use when it listens on all. */
export function apiNamesOf(api: string, names: readonly string[], ips: readonly string[]): string[] {
  if (api === 'off') return [];
  const { host } = splitHostPort(api);
  if (host === '127.0.0.1' || host === '::1' || host === 'localhost') return [];
  if (host === '0.0.0.0' || host === '::' || host === '') return [...names, ...ips];
  return [host];
}

/** The owner of an existing state directory when root runs init for another account, else null. */
function serviceOwner(stateDir: string): { uid: number; gid: number } | null {
  if (typeof process.getuid !== 'function' || process.getuid() !== 0 || !existsSync(stateDir)) return null;
  const st = statSync(stateDir);
  return st.uid === 0 ? null : { uid: st.uid, gid: st.gid };
}

function chownTree(path: string, owner: { uid: number; gid: number }): void {
  const st = lstatSync(path);
  if (st.isSymbolicLink()) return;
  chownSync(path, owner.uid, owner.gid);
  if (st.isDirectory()) for (const e of readdirSync(path)) chownTree(join(path, e), owner);
}

/** Everything that would stop init, checked before anything is written. */
function checkPreconditions(r: InitRequest, pkiDir: string): void {
  if (r.names.length === 0 && r.ips.length === 0) throw new RangeError('init needs at least one name or address agents use to reach the collector');
  if (!r.force) {
    if (existsSync(r.configFile)) throw new DeploymentExistsError(`the configuration ${r.configFile}`);
    const ca = pkiPaths(pkiDir).caCert;
    if (existsSync(ca)) throw new DeploymentExistsError(`a CA (${ca})`);
  }
  checkOperatorTarget({ name: r.operator.name, dir: r.operator.dir, signingKey: true, force: r.force });
  const rel = relative(resolve(r.stateDir), resolve(r.operator.dir));
  if (rel === '' || (!rel.startsWith('..') && !isAbsolute(rel))) {
    // the collector's account reads its state directory: it must never hold a key agents obey
    throw new OperatorDirError(`the operator directory ${r.operator.dir} is inside the collector's state directory ${r.stateDir}: the collector would hold the operator's signing key. Give --operator-dir elsewhere (run init as root, not as the collector's account, so it goes to root's ~/.meerkat/operator)`);
  }
}

/** An operator directory the collector could read. */
export class OperatorDirError extends InputError {
  readonly code = 'MEERKAT_ERR_OPERATOR_DIR';
  constructor(message: string) {
    super(message);
    this.name = 'OperatorDirError';
  }
}

/**
 * The first operator as a user of the collector: admin of the default organisation (the one a
 * single-owner installation works in) and collector administrator (to make organisations and
 * users). Opening the state provisions the default organisation (its CA) first.
 */
function addFirstUser(stateDir: string, pkiDir: string, name: string): void {
  const s = openCollectorState({ stateDir, pkiDir, actor: 'init' });
  try {
    if (!s.users.get(name)) s.users.addCertificateUser(name, { collectorAdmin: true });
    else s.users.setCollectorAdmin(name, true);
    s.users.grant(name, DEFAULT_ORG, 'admin');
    s.audit.record({ actor: 'init', action: 'user.add', org: DEFAULT_ORG, outcome: 'ok', detail: { user: name, role: 'admin', collectorAdmin: true } });
  } finally {
    s.close();
  }
}

export function initDeployment(r: InitRequest): InitResult {
  const pkiDir = join(r.stateDir, 'pki');
  checkPreconditions(r, pkiDir);
  const owner = serviceOwner(r.stateDir);
  if (mkdirSync(r.stateDir, { recursive: true, mode: 0o700 }) !== undefined && owner) chownSync(r.stateDir, owner.uid, owner.gid);
  let pki;
  try {
    pki = initPki(pkiDir, { serverNames: r.names, serverIps: r.ips, force: r.force });
  } catch (e) {
    if (e instanceof PkiExistsError) throw new DeploymentExistsError(`a CA (${pkiPaths(pkiDir).caCert})`);
    throw e;
  }
  const apiNames = apiNamesOf(r.api, r.names, r.ips);
  // the API's certificate now, so the first start does not spend seconds making an RSA key
  if (r.api !== 'off') ensureAdminServerCert(pkiDir, loadCa(pki.paths.caCert, pki.paths.caKey), { names: apiNames.filter((n) => isIP(n) === 0), ips: apiNames.filter((n) => isIP(n) !== 0) });
  const config = { stateDir: r.stateDir, listen: r.listen, api: r.api, ...(apiNames.length ? { apiNames } : {}), ops: r.ops };
  const madeConfigDir = mkdirSync(dirname(r.configFile), { recursive: true, mode: 0o750 });
  // the configuration holds no secret; the service account reads it
  writeFileAtomic(r.configFile, JSON.stringify(config, null, 2) + '\n', PUBLIC_MODE);
  const operator = createOperator(pkiDir, { name: r.operator.name, dir: r.operator.dir, signingKey: true, force: r.force });
  addFirstUser(r.stateDir, pkiDir, r.operator.name);
  const apiUrl = apiUrlOf(r.api, r.names, r.ips);
  let consoleConfig: InitResult['consoleConfig'] = null;
  if (r.consoleConfigFile) {
    const values: ConsoleConfig = { ...(apiUrl ? { api: apiUrl } : {}), operatorDir: r.operator.dir };
    const existing = existsSync(r.consoleConfigFile);
    if (!existing || r.force) {
      prepareConsoleConfigDir(r.consoleConfigFile);
      writeFileAtomic(r.consoleConfigFile, consoleConfigText(values), 0o600);
    }
    consoleConfig = { file: r.consoleConfigFile, written: !existing || r.force, values };
  }
  const token = issueEnrollToken({ stateDir: r.stateDir, pkiDir }, { org: DEFAULT_ORG, uses: r.token.uses, expiresInSec: r.token.expiresInSec, label: 'init' });
  if (owner) {
    chownTree(pkiDir, owner);
    // the collector-wide database (organisations, users, tokens) and the default organisation's folder
    for (const e of readdirSync(r.stateDir)) if (e.startsWith('collector.db') || e === 'orgs') chownTree(join(r.stateDir, e), owner);
    chownSync(r.configFile, owner.uid, owner.gid);
    if (madeConfigDir !== undefined) chownSync(dirname(r.configFile), owner.uid, owner.gid);
  }
  const collectorUrl = collectorUrlOf(r.names, r.ips, r.listen);
  return {
    configFile: r.configFile, stateDir: r.stateDir, pkiDir, caFingerprintSha256: pki.caFingerprintHex, collectorUrl, apiUrl,
    listen: r.listen, api: r.api, ops: r.ops, operator, consoleConfig, token, chownedTo: owner,
    next: agentSteps({ collectorUrl, token: token.token, operatorPub: operator.publicKeyFile }),
  };
}
