// The agent's identity on disk: agent id, collector URL, its private key, its certificate
// and the pinned CA, under <stateDir>/identity/. identity.json points at the current key and
// certificate files by generation, so a renewal writes new files and switches with one
// atomic rename: a crash never leaves a key that does not match its certificate.
import { X509Certificate, createPrivateKey, type KeyObject } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { KeyFileError } from '../../shared/keys/key-file-error.js';
import { PUBLIC_MODE, SECRET_MODE, readPemFile, writeFileAtomic } from '../../certs/pem-files.js';
import { privateKeyPem } from '../../certs/native-keys.js';
import { verifyChainToRoot } from '../../certs/cert-chain.js';

const IDENTITY_SUBDIR = 'identity';

export interface AgentIdentity {
  agentId: string;
  /** https://host:port of the collector */
  collectorUrl: string;
  keyPem: string;
  certPem: string;
  caPem: string;
  notBefore: Date;
  notAfter: Date;
  serial: string;
}

interface IdentityFile {
  version: 1;
  agentId: string;
  collectorUrl: string;
  generation: number;
  keyFile: string;
  certFile: string;
  caFile: string;
  enrolledAt: string;
  renewedAt: string | null;
}

export function identityDir(stateDir: string): string {
  return join(stateDir, IDENTITY_SUBDIR);
}

function metaPath(stateDir: string): string {
  return join(identityDir(stateDir), 'identity.json');
}

export function hasAgentIdentity(stateDir: string): boolean {
  return existsSync(metaPath(stateDir));
}

function readMeta(stateDir: string): IdentityFile {
  const file = metaPath(stateDir);
  if (!existsSync(file)) throw new KeyFileError(file, 'expected the agent identity (not enrolled yet? run `meerkat-agent enroll`)');
  let m: IdentityFile;
  try {
    m = JSON.parse(readFileSync(file, 'utf8')) as IdentityFile;
  } catch (e) {
    throw new KeyFileError(file, 'expected JSON agent identity', e);
  }
  if (m?.version !== 1 || typeof m.agentId !== 'string' || typeof m.keyFile !== 'string' || typeof m.certFile !== 'string' || typeof m.caFile !== 'string' || typeof m.collectorUrl !== 'string') {
    throw new KeyFileError(file, 'expected a version 1 identity with agentId, collectorUrl, keyFile, certFile and caFile');
  }
  return m;
}

/** Loads and cross-checks key, certificate and CA; KeyFileError names the file at fault. */
export function loadAgentIdentity(stateDir: string): AgentIdentity {
  const m = readMeta(stateDir);
  const dir = identityDir(stateDir);
  const keyFile = join(dir, m.keyFile);
  const certFile = join(dir, m.certFile);
  const caFile = join(dir, m.caFile);
  const keyPem = readPemFile(keyFile, ['PRIVATE KEY', 'RSA PRIVATE KEY'], 'the agent private key');
  const certPem = readPemFile(certFile, ['CERTIFICATE'], 'the agent certificate');
  const caPem = readPemFile(caFile, ['CERTIFICATE'], 'the collector CA certificate');
  let key: KeyObject;
  try { key = createPrivateKey(keyPem); } catch (e) { throw new KeyFileError(keyFile, 'expected a parseable private key', e); }
  let cert: X509Certificate;
  try { cert = new X509Certificate(certPem); } catch (e) { throw new KeyFileError(certFile, 'expected a parseable X.509 certificate', e); }
  try { new X509Certificate(caPem); } catch (e) { throw new KeyFileError(caFile, 'expected a parseable X.509 CA certificate', e); }
  if (!cert.checkPrivateKey(key)) throw new KeyFileError(keyFile, `expected the private key of ${certFile} (they do not match)`);
  // the certificate file holds the agent's certificate, then its organisation's CA (none under a pre-organisation root)
  const chain = verifyChainToRoot(certPem, caPem);
  if (!chain.ok) throw new KeyFileError(certFile, `expected a certificate issued (through its organisation CA) by the CA in ${caFile}: ${chain.detail}`);
  if (!cert.subject.split('\n').includes(`CN=${m.agentId}`)) throw new KeyFileError(certFile, `expected a certificate for agent ${m.agentId}`);
  return {
    agentId: m.agentId,
    collectorUrl: m.collectorUrl,
    keyPem,
    certPem,
    caPem,
    notBefore: new Date(cert.validFrom),
    notAfter: new Date(cert.validTo),
    serial: cert.serialNumber,
  };
}

export interface SaveIdentityInput {
  agentId: string;
  collectorUrl: string;
  key: KeyObject;
  certPem: string;
  caPem: string;
}

/** Writes a new generation of key + certificate, then switches identity.json to it. */
export function saveAgentIdentity(stateDir: string, input: SaveIdentityInput): AgentIdentity {
  const dir = identityDir(stateDir);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  let prev: IdentityFile | null = null;
  try { prev = hasAgentIdentity(stateDir) ? readMeta(stateDir) : null; } catch { prev = null; }
  const generation = (prev?.generation ?? 0) + 1;
  const keyFile = `agent-${generation}.key`;
  const certFile = `agent-${generation}.crt`;
  writeFileAtomic(join(dir, keyFile), privateKeyPem(input.key), SECRET_MODE);
  writeFileAtomic(join(dir, certFile), input.certPem, PUBLIC_MODE);
  writeFileAtomic(join(dir, 'ca.crt'), input.caPem, PUBLIC_MODE);
  const now = new Date().toISOString();
  const meta: IdentityFile = {
    version: 1,
    agentId: input.agentId,
    collectorUrl: input.collectorUrl,
    generation,
    keyFile,
    certFile,
    caFile: 'ca.crt',
    enrolledAt: prev && prev.agentId === input.agentId ? prev.enrolledAt : now,
    renewedAt: prev && prev.agentId === input.agentId ? now : null,
  };
  writeFileAtomic(metaPath(stateDir), JSON.stringify(meta, null, 2) + '\n', SECRET_MODE);
  if (prev) {
    for (const f of [prev.keyFile, prev.certFile]) if (f !== keyFile && f !== certFile) rmSync(join(dir, f), { force: true });
  }
  return loadAgentIdentity(stateDir);
}
