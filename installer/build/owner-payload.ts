// What an organisation's agent package carries (`meerkat package agent`, run by the network
// owner): the collector to enroll with and a token, the owner's anon.key and box.pub, the
// operator keys the agent pins, optionally the collector's CA certificate, and the agent
// configuration. Every file is checked here, before anything is built: a wrong key found on
// ten thousand endpoints is far worse than an error on the owner's desk.
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { ANON_KEY_FILE, BOX_PUBLIC_FILE, loadAnonKey, loadBoxPublicKey } from '../../shared/keys/owner-keys.js';
import { loadOperatorPublicKey } from '../../shared/commands/operator-keys.js';
import { parseEnrollToken } from '../../certs/enroll-token-format.js';
import { certFingerprintB64, fingerprintMatches } from '../../certs/fingerprint.js';
import { PackageBuildError } from './tool-run.js';

export interface OwnerPayload {
  collector: string;
  token: string;
  anonKey: Buffer;
  boxPub: Buffer;
  /** op.pub files, named by key id */
  operatorKeys: { keyId: string; content: Buffer }[];
  /** the collector's CA certificate (PEM), checked against the token's fingerprint */
  caPem?: string;
  /** the agent configuration (agent.json) the package installs */
  config: Record<string, unknown>;
}

export interface OwnerPayloadFiles {
  /** the owner's key directory (meerkat keys init): anon.key and box.pub are taken from it */
  ownerDir: string;
  operatorKeys: string[];
  collector: string;
  token: string;
  caFile?: string;
  /** an agent.json to start from (internal prefixes, capture settings) */
  configFile?: string;
}

function fail(msg: string): never {
  throw new PackageBuildError(msg);
}

/** https://host:port with nothing else: what the agent's enrollment accepts. */
export function checkCollectorUrl(url: string): string {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    fail(`collector address ${JSON.stringify(url)} is not a URL: expected https://host:port`);
  }
  if (u.protocol !== 'https:' || !u.hostname || (u.pathname !== '/' && u.pathname !== '') || u.search || u.hash || u.username) {
    fail(`collector address ${JSON.stringify(url)}: expected https://host:port and nothing else`);
  }
  return `https://${u.host}`;
}

/** Reads and checks everything an organisation's package carries. */
export function loadOwnerPayload(f: OwnerPayloadFiles): OwnerPayload {
  const collector = checkCollectorUrl(f.collector);
  let fingerprint: Buffer;
  try {
    fingerprint = parseEnrollToken(f.token).caFingerprint;
  } catch (e) {
    fail(`enrollment token: ${(e as Error).message}`);
  }
  const anonFile = `${f.ownerDir}/${ANON_KEY_FILE}`;
  const boxFile = `${f.ownerDir}/${BOX_PUBLIC_FILE}`;
  try {
    loadAnonKey(anonFile);
    loadBoxPublicKey(boxFile);
  } catch (e) {
    fail(`owner keys in ${f.ownerDir}: ${(e as Error).message} (create them with: meerkat keys init --owner-keys ${f.ownerDir})`);
  }
  if (f.operatorKeys.length === 0) fail('no operator key: pass --operator-key op.pub (the agent obeys only commands signed by a pinned key)');
  const operatorKeys = f.operatorKeys.map((file) => {
    try {
      const k = loadOperatorPublicKey(file);
      return { keyId: k.keyId, content: readFileSync(file) };
    } catch (e) {
      fail(`operator key ${file}: ${(e as Error).message}`);
    }
  });
  let caPem: string | undefined;
  if (f.caFile) {
    caPem = readFileSync(f.caFile, 'utf8');
    let matches = false;
    try {
      matches = fingerprintMatches(caPem, fingerprint);
    } catch (e) {
      fail(`CA certificate ${f.caFile}: ${(e as Error).message}`);
    }
    if (!matches) fail(`the token was issued by another collector: its CA fingerprint is ${fingerprint.toString('base64url')}, ${basename(f.caFile)} has ${certFingerprintB64(caPem)}`);
  }
  let config: Record<string, unknown> = {};
  if (f.configFile) {
    try {
      config = JSON.parse(readFileSync(f.configFile, 'utf8')) as Record<string, unknown>;
    } catch (e) {
      fail(`agent config ${f.configFile}: ${(e as Error).message}`);
    }
    if (typeof config !== 'object' || config === null || Array.isArray(config)) fail(`agent config ${f.configFile}: expected a JSON object`);
  }
  // the package decides where state and keys live; the owner's file decides the rest
  delete config.stateDir;
  const anonymize = (config.anonymize ?? {}) as Record<string, unknown>;
  delete anonymize.keyFile;
  config = { ...config, anonymize, collector: { url: collector } };
  return { collector, token: f.token.trim(), anonKey: readFileSync(anonFile), boxPub: readFileSync(boxFile), operatorKeys, ...(caPem ? { caPem } : {}), config };
}
