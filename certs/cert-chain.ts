// Certificate chains as the agent holds them: its certificate followed by the organisation CA
// that signed it (one PEM file, sent as the TLS client chain), checked link by link up to the
// pinned collector root. Before organisations an agent certificate was signed by the root
// itself; such a file holds one certificate and is checked the same way. node:crypto only (the
// agent bundle carries no node-forge at start).
import { X509Certificate } from 'node:crypto';

const PEM_CERT_RE = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

/** The certificates of a PEM text, in order (empty when there is none). */
export function splitPemCertificates(pem: string): string[] {
  return (pem.match(PEM_CERT_RE) ?? []).map((b) => b + '\n');
}

export type ChainVerdict = { ok: true; leaf: X509Certificate; chain: X509Certificate[] } | { ok: false; detail: string };

/** Whether `child` names `parent` as its issuer and carries its signature. */
export function signedBy(child: X509Certificate, parent: X509Certificate): boolean {
  try {
    return child.checkIssued(parent) && child.verify(parent.publicKey);
  } catch {
    return false;
  }
}

/**
 * Checks that `chainPem` (leaf first, then at most `maxIntermediates` CAs) leads to the root
 * `rootPem`: each certificate signed by the next, every intermediate a CA, the last signed by
 * the root. Validity dates are TLS's business (checked at every handshake), not this one's.
 */
export function verifyChainToRoot(chainPem: string, rootPem: string, maxIntermediates = 1): ChainVerdict {
  let certs: X509Certificate[];
  let root: X509Certificate;
  try {
    certs = splitPemCertificates(chainPem).map((p) => new X509Certificate(p));
    root = new X509Certificate(rootPem);
  } catch (e) {
    return { ok: false, detail: `not parseable X.509 (${(e as Error).message})` };
  }
  if (certs.length === 0) return { ok: false, detail: 'no certificate in the chain' };
  if (certs.length - 1 > maxIntermediates) return { ok: false, detail: `${certs.length - 1} intermediate certificates, at most ${maxIntermediates} expected` };
  for (let i = 0; i < certs.length; i++) {
    const c = certs[i]!;
    const parent = certs[i + 1] ?? root;
    if (i > 0 && !c.ca) return { ok: false, detail: `chain certificate ${i} (${c.subject.replace(/\n/g, ', ')}) is not a CA` };
    if (!signedBy(c, parent)) {
      return { ok: false, detail: `${i === 0 ? 'the certificate' : `chain certificate ${i}`} is not signed by ${parent === root ? 'the pinned CA' : `chain certificate ${i + 1}`}` };
    }
  }
  return { ok: true, leaf: certs[0]!, chain: certs.slice(1) };
}

/** Subject attribute values of a node:crypto subject string ("CN=x\nOU=y\nO=z"). */
export function subjectValues(subject: string, attr: string): string[] {
  const prefix = `${attr}=`;
  return subject.split('\n').filter((l) => l.startsWith(prefix)).map((l) => l.slice(prefix.length));
}
