// Arkime regression expectations (sessions3 JSON) -> comparable flows. Arkime's
// byte counts are frame bytes, so only packets per direction are compared.
import { normAddr, type ComparableFlow } from './reference-flow.js';
import { ReferenceParseError } from './parse-zeek-conn.js';

interface ArkimeEndpoint { ip?: string; port?: number; packets?: number }
interface ArkimeSession { body?: { ipProtocol?: number; source?: ArkimeEndpoint; destination?: ArkimeEndpoint } }

export function parseArkimeJson(text: string, file = 'arkime.json'): ComparableFlow[] {
  let doc: { sessions3?: ArkimeSession[] };
  try {
    doc = JSON.parse(text) as { sessions3?: ArkimeSession[] };
  } catch {
    throw new ReferenceParseError(file, 'Arkime JSON document');
  }
  if (!Array.isArray(doc.sessions3)) throw new ReferenceParseError(file, 'Arkime expectation (no sessions3 array)');
  return doc.sessions3.map((s) => {
    const b = s.body ?? {};
    const src = b.source ?? {};
    const dst = b.destination ?? {};
    return {
      ipProto: b.ipProtocol ?? 0,
      aAddr: normAddr(src.ip ?? ''),
      aPort: src.port ?? 0,
      bAddr: normAddr(dst.ip ?? ''),
      bPort: dst.port ?? 0,
      aPkts: src.packets ?? 0,
      bPkts: dst.packets ?? 0,
      aBytes: null,
      bBytes: null,
      label: `${b.ipProtocol} ${src.ip}:${src.port ?? '-'} > ${dst.ip}:${dst.port ?? '-'}`,
    };
  });
}
