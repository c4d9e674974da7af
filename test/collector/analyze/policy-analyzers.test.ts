// Sensitive ports and per-machine exceptions: generated flows that must and must not
// fire, and real captures (IRC, inbound SSH, HTTP) through the real importer.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { MachineExceptionsAnalyzer, withinHours } from '../../../collector/analyze/machine-exceptions-analyzer.js';
import { SensitivePortsAnalyzer } from '../../../collector/analyze/sensitive-ports-analyzer.js';
import { referencePcapsDir } from '../../../shared/util/repo-paths.js';
import { flow, T0 } from './flow-gen.js';
import { recordsOf, runRecords } from './harness.js';

const pcaps = referencePcapsDir();
const EXT = '198.51.100.20';

describe('sensitive ports', () => {
  it('default policy: outbound SMB, inbound RDP, Telnet anywhere fire; the same ports in other directions do not', async () => {
    const recs = [
      flow({ resp_addr: EXT, resp_port: 445 }),                                                   // outbound SMB: high
      flow({ orig_addr: EXT, orig_anon: false, resp_addr: '10.0.0.5', resp_port: 3389 }),         // inbound RDP: high
      flow({ orig_addr: '10.0.0.7', resp_addr: '10.0.0.5', resp_anon: true, resp_port: 23 }),     // lateral telnet
      flow({ orig_addr: '10.0.0.7', resp_addr: '10.0.0.5', resp_anon: true, resp_port: 445 }),    // lateral SMB: normal
      flow({ resp_addr: EXT, resp_port: 3389 }),                                                  // outbound RDP: not in policy
      flow({ resp_addr: EXT, resp_port: 443 }),
      flow({ orig_addr: EXT, orig_anon: false, resp_addr: '10.0.0.5', resp_port: 22, resp_pkts: 0, conn_state: 'S0' }), // unanswered ssh probe
      flow({ orig_addr: EXT, orig_anon: false, resp_addr: '10.0.0.5', resp_port: 22 }),           // answered inbound ssh: low
      flow({ resp_addr: EXT, resp_port: 445, record_seq: 1 }),                                    // later record: judged once
    ];
    const { alerts } = await runRecords([[new SensitivePortsAnalyzer(), {}]], recs);
    assert.deepEqual(alerts.map((a) => `${a.rule}/${a.severity}/${a.evidence.direction}`),
      ['smb-outbound/high/outbound', 'rdp-inbound/high/inbound', 'telnet/medium/lateral', 'ssh-inbound/low/inbound']);
    assert.equal(alerts[0]!.peer, EXT);
    assert.equal(alerts[1]!.peer, EXT, 'the peer is the remote side');
    assert.deepEqual(alerts.map((a) => a.host), ['10.1.2.3', '10.0.0.5', '10.0.0.7', '10.0.0.5'], 'the host is the local side');
  });

  it('says whether a Telnet attempt was answered, refused (RST) or unanswered', async () => {
    const recs = [
      flow({ resp_addr: EXT, resp_port: 23 }),
      flow({ resp_addr: EXT, resp_port: 23, resp_pkts: 1, orig_pkts: 1, orig_payload_bytes: 0, resp_payload_bytes: 0, conn_state: 'REJ', history: 'Sr' }),
      flow({ resp_addr: EXT, resp_port: 23, resp_pkts: 0, orig_pkts: 2, orig_payload_bytes: 0, resp_payload_bytes: 0, conn_state: 'S0', history: 'S' }),
    ];
    const { alerts } = await runRecords([[new SensitivePortsAnalyzer(), {}]], recs);
    assert.deepEqual(alerts.map((a) => a.evidence.reply), ['answered', 'refused', 'unanswered']);
    assert.doesNotMatch(alerts[0]!.summary, /refused|unanswered/);
    assert.match(alerts[1]!.summary, /, refused$/);
    assert.match(alerts[2]!.summary, /, unanswered$/);
  });

  it('custom rules replace or add to the defaults; bad port specs are a setup error', async () => {
    const cfg = { disable: ['telnet'], rules: [{ name: 'smb-outbound', ports: ['tcp/445'], directions: ['outbound', 'lateral'], severity: 'critical' }, { name: 'mqtt', ports: ['tcp/1883-1884'], directions: ['any'] }] };
    const { alerts } = await runRecords([[new SensitivePortsAnalyzer(), cfg]], [
      flow({ orig_addr: '10.0.0.7', resp_addr: '10.0.0.5', resp_anon: true, resp_port: 445 }),
      flow({ orig_addr: '10.0.0.7', resp_addr: '10.0.0.5', resp_anon: true, resp_port: 23 }),
      flow({ resp_addr: EXT, resp_port: 1884 }),
    ]);
    assert.deepEqual(alerts.map((a) => `${a.rule}/${a.severity}`), ['smb-outbound/critical', 'mqtt/medium']);
    const sp = new SensitivePortsAnalyzer();
    assert.throws(() => sp.setup(sp.configSchema.parse({ rules: [{ name: 'x', ports: ['tcp/99999'] }] })), /not a port spec: "tcp\/99999"/);
  });

  it('real captures: outbound IRC (host pinned) and inbound SSH from the internet', async () => {
    const irc = await recordsOf([join(pcaps, 'zeek', 'tls_irc-starttls.pcap')]);
    const gre = await recordsOf([join(pcaps, 'zeek', 'tunnels_gre-sample.pcap')]);
    // both IRC endpoints are public: the capture is "transit" until the host is named
    const transit = await runRecords([[new SensitivePortsAnalyzer(), {}]], irc);
    assert.equal(transit.alerts.length, 0);
    const pinned = await runRecords([[new SensitivePortsAnalyzer(), {}]], irc, { hosts: { pinned: { import: ['203.143.168.47'] } } });
    assert.deepEqual(pinned.alerts.map((a) => `${a.rule} ${a.peer}`), ['irc-outbound 185.18.76.170']);
    const ssh = await runRecords([[new SensitivePortsAnalyzer(), {}]], gre);
    assert.deepEqual(ssh.alerts.map((a) => `${a.rule} ${a.peer} ${a.evidence.answered}`), ['ssh-inbound 66.59.111.190 true']);
  });
});

describe('per-machine exceptions', () => {
  const profiles = {
    agents: {
      'kiosk-1': {
        allowPeers: ['internal', '93.184.216.0/24'],
        allowPorts: ['tcp/443', 'udp/53'],
        hours: [{ days: ['mon', 'tue', 'wed', 'thu', 'fri'], from: '08:00', to: '18:00' }],
        utcOffsetMinutes: 60,
      },
      'db-server': { forbidPeers: ['external'], forbidPorts: ['tcp/3306'], directions: ['outbound', 'lateral'] },
    },
  };

  it('fires outside the allow lists and hours, on forbidden peers/ports; stays quiet for normal traffic', async () => {
    const mon0830 = T0 - 30 * 60e6; // Monday 08:30 UTC = 09:30 local (+60)
    const sat = T0 + 5 * 86_400e6;  // Saturday 09:00 UTC
    const night = T0 + 12 * 3600e6; // Monday 21:00 UTC = 22:00 local
    const recs = [
      flow({ agent_id: 'kiosk-1', start: mon0830, resp_addr: '93.184.216.34', resp_port: 443 }),            // fine
      flow({ agent_id: 'kiosk-1', start: mon0830, resp_addr: '10.0.0.53', resp_anon: true, resp_port: 53, ip_proto: 17 }), // fine
      flow({ agent_id: 'kiosk-1', start: mon0830, resp_addr: '203.0.113.9', resp_port: 443 }),              // peer not allowed
      flow({ agent_id: 'kiosk-1', start: mon0830, resp_addr: '93.184.216.34', resp_port: 22 }),             // port not allowed
      flow({ agent_id: 'kiosk-1', start: sat, resp_addr: '93.184.216.34', resp_port: 443 }),                // weekend
      flow({ agent_id: 'kiosk-1', start: night, resp_addr: '93.184.216.34', resp_port: 443 }),              // night
      flow({ agent_id: 'db-server', resp_addr: '203.0.113.10', resp_port: 443 }),                           // forbidden peer
      flow({ agent_id: 'db-server', orig_addr: '10.0.0.8', resp_addr: '10.0.0.9', resp_anon: true, resp_port: 3306 }), // forbidden port
      flow({ agent_id: 'db-server', orig_addr: '203.0.113.10', orig_anon: false, resp_addr: '10.0.0.9', resp_port: 3306 }), // inbound: not scoped
      flow({ agent_id: 'other', resp_addr: '203.0.113.10', resp_port: 25 }),                                // no profile
    ];
    const { alerts } = await runRecords([[new MachineExceptionsAnalyzer(), profiles]], recs);
    assert.deepEqual(alerts.map((a) => `${a.agentId} ${a.rule} ${a.peer}`), [
      'kiosk-1 peer-not-allowed 203.0.113.9',
      'kiosk-1 port-not-allowed 93.184.216.34',
      'kiosk-1 outside-hours 93.184.216.34',
      'kiosk-1 outside-hours 93.184.216.34',
      'db-server peer-forbidden 203.0.113.10',
      'db-server port-forbidden 10.0.0.9',
    ]);
    assert.match(alerts[2]!.summary, /2024-01-13 10:00 local time/);
  });

  it('hours: weekdays from packet time, overnight windows, UTC offsets', () => {
    const hours = Array.from({ length: 7 }, () => [] as Array<[number, number]>);
    hours[1]!.push([22 * 60, 24 * 60]); // Monday 22:00-24:00
    hours[2]!.push([0, 6 * 60]);        // Tuesday 00:00-06:00 (the overnight part)
    const monday = T0 - 9 * 3600e6;     // Monday 00:00 UTC
    assert.ok(withinHours(hours, monday + 23 * 3600e6, 0));
    assert.ok(withinHours(hours, monday + 29 * 3600e6, 0));
    assert.ok(!withinHours(hours, monday + 31 * 3600e6, 0));
    assert.ok(withinHours(hours, monday + 21 * 3600e6, 3600e6), 'UTC 21:00 is 22:00 at +1');
  });

  it('hours: time sync and DHCP at night are not activity (backgroundPorts); anything else is', async () => {
    const night = T0 + 14 * 3600e6; // Monday 23:00 UTC
    const recs = [
      flow({ agent_id: 'kiosk', start: night, proto: 'udp', ip_proto: 17, resp_addr: '162.159.200.1', resp_port: 123 }),
      flow({ agent_id: 'kiosk', start: night + 1e6, proto: 'udp', ip_proto: 17, resp_addr: '10.0.0.1', resp_anon: true, resp_port: 67 }),
      flow({ agent_id: 'kiosk', start: night + 2e6, resp_port: 443 }),
    ];
    const profile = { hours: [{ days: ['mon'], from: '07:00', to: '19:00' }] };
    const quiet = await runRecords([[new MachineExceptionsAnalyzer(), { agents: { kiosk: profile } }]], recs);
    assert.deepEqual(quiet.alerts.map((a) => `${a.rule} ${a.host} ${a.peer}`), ['outside-hours 10.1.2.3 93.184.216.34']);
    const strict = await runRecords([[new MachineExceptionsAnalyzer(), { agents: { kiosk: { ...profile, backgroundPorts: [] } } }]], recs);
    assert.equal(strict.alerts.length, 3);
  });

  it('a real capture checked against a profile: allowed traffic is quiet, a tightened profile fires', async () => {
    const recs = await recordsOf([join(pcaps, 'zeek', 'http_get.pcap')]);
    // both ends are public addresses: name the capturing host so the flow is outbound
    const host = { hosts: { pinned: { import: ['141.142.228.5'] } } };
    const quiet = await runRecords([[new MachineExceptionsAnalyzer(), { agents: { import: { allowPorts: ['tcp/80'] } } }]], recs, host);
    assert.equal(quiet.alerts.length, 0);
    const tight = await runRecords([[new MachineExceptionsAnalyzer(), { agents: { import: { allowPorts: ['tcp/443'] } } }]], recs, host);
    assert.equal(tight.alerts.length, recs.filter((r) => r.record_seq === 0).length);
    assert.ok(tight.alerts.every((a) => a.rule === 'port-not-allowed'));
  });
});
