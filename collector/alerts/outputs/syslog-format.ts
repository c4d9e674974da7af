// RFC 5424 syslog messages for alerts (pure), and RFC 6587 octet-counting framing for
// TCP. HEADER: <PRI>1 TIMESTAMP HOSTNAME APP-NAME PROCID MSGID; one SD-ELEMENT
// [meerkat@32473 ...] (32473 is the private enterprise number reserved for
// documentation, RFC 5612; deployments with their own number configure it); MSG is the
// alert's summary in UTF-8 with a BOM, as RFC 5424 asks for UTF-8 MSG text.
import type { Severity } from '../../../shared/alerts/alert-record.js';
import type { AlertChangeKind, StoredAlert } from '../../../shared/alerts/alert-types.js';

export const SYSLOG_FACILITIES = {
  kern: 0, user: 1, mail: 2, daemon: 3, auth: 4, syslog: 5, lpr: 6, news: 7, uucp: 8, cron: 9, authpriv: 10, ftp: 11,
  ntp: 12, audit: 13, alert: 14, clock: 15, local0: 16, local1: 17, local2: 18, local3: 19, local4: 20, local5: 21,
  local6: 22, local7: 23,
} as const;

export type SyslogFacility = keyof typeof SYSLOG_FACILITIES;

/** Alert severity -> syslog severity (2 critical, 3 error, 4 warning, 5 notice). */
const SYSLOG_SEVERITY: Record<Severity, number> = { critical: 2, high: 3, medium: 4, low: 5 };

export interface SyslogFormatOptions {
  facility?: SyslogFacility;
  hostname?: string;
  appName?: string;
  procId?: string;
  /** SD-ID, default meerkat@32473 */
  sdId?: string;
}

/** PRINTUSASCII (33..126) only, at most max chars, '-' when empty (RFC 5424 NILVALUE). */
function headerField(s: string, max: number): string {
  let out = '';
  for (const ch of s) {
    const c = ch.codePointAt(0)!;
    out += c >= 33 && c <= 126 ? ch : '_';
    if (out.length >= max) break;
  }
  return out === '' ? '-' : out;
}

/** PARAM-VALUE escaping: '"', '\' and ']' get a backslash. */
export function sdValue(s: string): string {
  return s.replace(/["\\\]]/g, (m) => `\\${m}`);
}

/** SD-NAME: PRINTUSASCII except '=', ' ', ']', '"', at most 32. */
function sdName(s: string): string {
  return headerField(s.replace(/[= \]"]/g, '_'), 32);
}

/** RFC 3339 time with microseconds, UTC. */
function syslogTime(us: number): string {
  const ms = Math.floor(us / 1000);
  const iso = new Date(ms).toISOString(); // 2024-01-02T03:04:05.678Z
  const micros = String(Math.floor(us) % 1_000_000).padStart(6, '0');
  return `${iso.slice(0, 19)}.${micros}Z`;
}

/** One RFC 5424 message (without transport framing). Timestamp: the alert's latest occurrence (packet time). */
export function formatSyslog(a: StoredAlert, kind: AlertChangeKind, opts: SyslogFormatOptions = {}): string {
  const pri = SYSLOG_FACILITIES[opts.facility ?? 'local0'] * 8 + SYSLOG_SEVERITY[a.severity];
  const header = [
    `<${pri}>1`,
    syslogTime(a.lastSeenUs),
    headerField(opts.hostname ?? '-', 255),
    headerField(opts.appName ?? 'meerkat', 48),
    headerField(opts.procId ?? String(process.pid), 128),
    headerField(a.category, 32),
  ].join(' ');
  const params: Array<[string, string]> = [
    ['id', String(a.id)], ['kind', kind], ['agent', a.agentId], ['host', a.host], ['severity', a.severity], ['category', a.category],
    ['rule', a.rule], ['peer', a.peer], ['analyzer', a.analyzer], ['count', String(a.count)], ['state', a.state],
  ];
  if (a.communityId) params.push(['communityId', a.communityId]);
  if (a.flowUid) params.push(['flowUid', a.flowUid]);
  const sd = `[${sdName(opts.sdId ?? 'meerkat@32473')}${params.map(([k, v]) => ` ${sdName(k)}="${sdValue(v)}"`).join('')}]`;
  return `${header} ${sd} \uFEFF${a.summary}`;
}

/** RFC 6587 octet counting: "<byte length> <message>". */
export function octetFrame(message: string): Buffer {
  const body = Buffer.from(message, 'utf8');
  return Buffer.concat([Buffer.from(`${body.length} `, 'ascii'), body]);
}
