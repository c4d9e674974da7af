// Zeek conn.log (TSV with #fields header) -> comparable flows. Zeek logs ICMP type
// and counterpart/code in the port columns and SCTP as unknown_transport with 0/0.
import { normAddr, type ComparableFlow } from './reference-flow.js';
import { MeerkatError } from '../../shared/errors.js';

export class ReferenceParseError extends MeerkatError {
  readonly code = 'MEERKAT_ERR_REFERENCE_PARSE';
  constructor(file: string, expected: string) {
    super(`${file}: not a valid ${expected}`);
    this.name = 'ReferenceParseError';
  }
}

function count(v: string | undefined): number {
  return v === undefined || v === '-' || v === '' ? 0 : Number(v);
}

export function parseZeekConnLog(text: string, file = 'conn.log'): ComparableFlow[] {
  let fields: string[] | null = null;
  const out: ComparableFlow[] = [];
  for (const line of text.split('\n')) {
    if (line.startsWith('#fields')) {
      fields = line.split('\t').slice(1);
      continue;
    }
    if (line.startsWith('#') || line.trim() === '') continue;
    if (fields === null) throw new ReferenceParseError(file, 'Zeek conn.log (no #fields line before the data)');
    const cols = line.split('\t');
    const get = (name: string): string | undefined => {
      const i = fields!.indexOf(name);
      return i < 0 ? undefined : cols[i];
    };
    const proto = get('proto');
    const ipProto = count(get('ip_proto')) || (proto === 'tcp' ? 6 : proto === 'udp' ? 17 : proto === 'icmp' ? 1 : 0);
    out.push({
      ipProto,
      aAddr: normAddr(get('id.orig_h') ?? ''),
      aPort: count(get('id.orig_p')),
      bAddr: normAddr(get('id.resp_h') ?? ''),
      bPort: count(get('id.resp_p')),
      aPkts: count(get('orig_pkts')),
      bPkts: count(get('resp_pkts')),
      aBytes: count(get('orig_ip_bytes')),
      bBytes: count(get('resp_ip_bytes')),
      connState: get('conn_state') ?? '',
      history: get('history') ?? '',
      label: `${proto} ${get('id.orig_h')}:${get('id.orig_p')} > ${get('id.resp_h')}:${get('id.resp_p')} ${get('conn_state')} ${get('history')}`,
    });
  }
  return out;
}
