// CESNET FlowTest validation annotations (the small YAML subset they use: a `flows:`
// list of flat key/value maps) -> comparable flows with IP-layer bytes.
import { normAddr, type ComparableFlow } from './reference-flow.js';
import { ReferenceParseError } from './parse-zeek-conn.js';

function scalar(v: string): string {
  const t = v.trim();
  return t.replace(/^['"]|['"]$/g, '');
}

export function parseFlowTestYaml(text: string, file = 'annotation.yml'): ComparableFlow[] {
  const items: Record<string, string>[] = [];
  let inFlows = false;
  let cur: Record<string, string> | null = null;
  for (const raw of text.split('\n')) {
    const line = raw.replace(/\s+#.*$/, '');
    if (/^flows:\s*$/.test(line)) { inFlows = true; continue; }
    if (!inFlows) continue;
    if (/^\S/.test(line)) { inFlows = false; continue; }
    const m = /^\s*(-\s+)?([A-Za-z0-9_@.]+):\s*(.*)$/.exec(line);
    if (m === null) continue;
    if (m[1] !== undefined) { cur = {}; items.push(cur); }
    if (cur === null) throw new ReferenceParseError(file, 'FlowTest annotation (flow fields before a "- " item)');
    cur[m[2]!] = scalar(m[3]!);
  }
  return items.map((it) => ({
    ipProto: Number(it.protocol ?? 0),
    aAddr: normAddr(it.src_ip ?? ''),
    aPort: Number(it.src_port ?? 0),
    bAddr: normAddr(it.dst_ip ?? ''),
    bPort: Number(it.dst_port ?? 0),
    aPkts: Number(it.packets ?? 0),
    bPkts: Number(it['packets@rev'] ?? 0),
    aBytes: Number(it.bytes ?? 0),
    bBytes: Number(it['bytes@rev'] ?? 0),
    label: `${it.protocol} ${it.src_ip}:${it.src_port ?? '-'} > ${it.dst_ip}:${it.dst_port ?? '-'}`,
  }));
}
