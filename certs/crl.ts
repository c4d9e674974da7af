// A real X.509 v2 CRL (RFC 5280 section 5) built with forge's ASN.1 helpers and signed
// natively, so standard TLS front-ends and `openssl crl` can use the revocations too.
// forge has no CRL writer; the structure is small enough to build by hand.
import forge from 'node-forge';
import type { CertificateAuthority } from './certificate-authority.js';
import { nativeRsaSigner } from './rsa-signer.js';

const { asn1 } = forge;
const T = asn1.Type;
const C = asn1.Class;
const OID_SHA256_RSA = '1.2.840.113549.1.1.11';
const OID_CRL_NUMBER = '2.5.29.20';
const OID_AUTHORITY_KEY_ID = '2.5.29.35';

export interface CrlEntry {
  /** hex serial of the revoked certificate */
  serial: string;
  revokedAt: Date;
}

function time(d: Date): forge.asn1.Asn1 {
  // RFC 5280: UTCTime through 2049, GeneralizedTime after
  return d.getUTCFullYear() < 2050
    ? asn1.create(C.UNIVERSAL, T.UTCTIME, false, asn1.dateToUtcTime(d))
    : asn1.create(C.UNIVERSAL, T.GENERALIZEDTIME, false, asn1.dateToGeneralizedTime(d));
}

function integerFromHex(hex: string): forge.asn1.Asn1 {
  let h = hex.length % 2 ? '0' + hex : hex;
  if (parseInt(h.slice(0, 2), 16) & 0x80) h = '00' + h; // keep it positive
  return asn1.create(C.UNIVERSAL, T.INTEGER, false, forge.util.hexToBytes(h));
}

function sigAlg(): forge.asn1.Asn1 {
  return asn1.create(C.UNIVERSAL, T.SEQUENCE, true, [
    asn1.create(C.UNIVERSAL, T.OID, false, asn1.oidToDer(OID_SHA256_RSA).getBytes()),
    asn1.create(C.UNIVERSAL, T.NULL, false, ''),
  ]);
}

function extension(oid: string, valueDer: string): forge.asn1.Asn1 {
  return asn1.create(C.UNIVERSAL, T.SEQUENCE, true, [
    asn1.create(C.UNIVERSAL, T.OID, false, asn1.oidToDer(oid).getBytes()),
    asn1.create(C.UNIVERSAL, T.OCTETSTRING, false, valueDer),
  ]);
}

/** Builds and signs a CRL; nextUpdate defaults to 7 days after now. */
export function buildCrl(ca: CertificateAuthority, entries: readonly CrlEntry[], crlNumber: number, now = new Date(), nextUpdate = new Date(now.getTime() + 7 * 86_400_000)): string {
  const revoked = entries.map((e) =>
    asn1.create(C.UNIVERSAL, T.SEQUENCE, true, [integerFromHex(e.serial), time(e.revokedAt)]),
  );
  const aki = asn1.create(C.UNIVERSAL, T.SEQUENCE, true, [
    asn1.create(C.CONTEXT_SPECIFIC, 0, false, ca.cert.generateSubjectKeyIdentifier().getBytes()),
  ]);
  const crlNum = integerFromHex(Math.max(1, crlNumber).toString(16));
  const tbsParts: forge.asn1.Asn1[] = [
    asn1.create(C.UNIVERSAL, T.INTEGER, false, asn1.integerToDer(1).getBytes()), // v2
    sigAlg(),
    forge.pki.distinguishedNameToAsn1(ca.cert.subject),
    time(now),
    time(nextUpdate),
  ];
  if (revoked.length > 0) tbsParts.push(asn1.create(C.UNIVERSAL, T.SEQUENCE, true, revoked));
  tbsParts.push(asn1.create(C.CONTEXT_SPECIFIC, 0, true, [
    asn1.create(C.UNIVERSAL, T.SEQUENCE, true, [
      extension(OID_AUTHORITY_KEY_ID, asn1.toDer(aki).getBytes()),
      extension(OID_CRL_NUMBER, asn1.toDer(crlNum).getBytes()),
    ]),
  ]));
  const tbs = asn1.create(C.UNIVERSAL, T.SEQUENCE, true, tbsParts);
  const md = forge.md.sha256.create();
  md.update(asn1.toDer(tbs).getBytes());
  const signature = nativeRsaSigner(ca.key).sign(md);
  const crl = asn1.create(C.UNIVERSAL, T.SEQUENCE, true, [
    tbs,
    sigAlg(),
    asn1.create(C.UNIVERSAL, T.BITSTRING, false, String.fromCharCode(0) + signature),
  ]);
  return forge.pem.encode({ type: 'X509 CRL', body: asn1.toDer(crl).getBytes() });
}
