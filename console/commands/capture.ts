// Capture commands (signed, through the collector to the agent):
//   meerkat capture AGENT --snaplen N                              payload bytes per packet, at once
//   meerkat capture AGENT --full --peer ADDR [--port P] --for 10m  full payload for one peer, lapses by itself
//   meerkat dump-size AGENT N [--seconds T]                        packets (and seconds) per dump
//   meerkat stop|start AGENT capture|shipping
// The peer is named as the collector's data shows it: a pseudonym for internal hosts ("*" as
// `meerkat flows` prints it, optional here) or a real external address.
import type { Command } from 'commander';
import { UsageError, parseIntOption } from '../../shared/cli/run-cli.js';
import { PeerRefError, parseRecordAddress } from '../../shared/commands/peer-ref.js';
import { formatDuration, parseDuration } from '../../shared/cli/duration.js';
import type { CommandParams } from '../../shared/commands/command-schema.js';
import { COMMAND_LIMITS } from '../../shared/commands/command-limits.js';
import type { CaptureControlState } from '../../shared/commands/agent-reports.js';
import { deanonFilter, deanonOptions } from '../deanon-text.js';
import { remoteOptions, reportCommand, submitCommand, type RemoteFlags } from './remote-command.js';

const L = COMMAND_LIMITS;

interface DeanonFlags { deanon?: boolean; ownerKeys?: string }

export function captureStateText(data: unknown): string {
  const s = data as CaptureControlState;
  if (typeof s !== 'object' || s === null || typeof s.snapLen !== 'number') return JSON.stringify(data) + '\n';
  const lines = [
    `snap length: ${s.snapLen} bytes per packet`,
    `dumps: ${s.dump.packets} packets or ${s.dump.seconds} s`,
    `capture: ${s.capture}; shipping: ${s.shipping}`,
    ...s.peerCapture.map((p) => `full capture: peer ${p.peer}${p.port ? ` port ${p.port}` : ''}, ${p.snapLen} bytes, until ${p.until}`),
  ];
  return lines.join('\n') + '\n';
}

export interface PeerCaptureFlags {
  peer?: string;
  port?: number;
  snaplen?: number;
  full?: boolean;
  for?: string;
}

/** Flags -> capture.peer parameters, checked against the limits table. Pure. @throws InputError */
export function peerCaptureParams(f: PeerCaptureFlags): CommandParams<'capture.peer'> {
  if (!f.peer) throw new UsageError('targeted capture needs --peer ADDRESS');
  if (!f.for) throw new UsageError('targeted capture needs --for DURATION (it always ends by itself)');
  let peer: string;
  try {
    peer = parseRecordAddress(f.peer, '--peer');
  } catch (e) {
    if (e instanceof PeerRefError) throw new UsageError(`${e.message} (targeted capture matches an address or CIDR as records carry it)`);
    throw e;
  }
  return {
    peer,
    ...(f.port ? { port: f.port } : {}),
    snapLen: f.full || f.snaplen === undefined ? COMMAND_LIMITS.snapLen.max : f.snaplen,
    forMs: parseDuration(f.for, '--for', COMMAND_LIMITS.peerCapture),
  };
}

function component(text: string): 'capture' | 'shipping' {
  if (text !== 'capture' && text !== 'shipping') throw new UsageError(`expected "capture" or "shipping", got ${JSON.stringify(text)}`);
  return text;
}

function printer(f: RemoteFlags & DeanonFlags): (data: unknown) => string {
  const deanon = deanonFilter(f.deanon, f.ownerKeys);
  return (data) => deanon(captureStateText(data));
}

export function registerCaptureCommands(program: Command): void {
  deanonOptions(remoteOptions(program
    .command('capture')
    .description('change what an agent captures: global snap length, or full payload for one peer for a while')
    .argument('<agent>', 'agent id (or a unique prefix)')
    .option('--snaplen <n>', `payload bytes kept per packet, ${L.snapLen.min}..${L.snapLen.max}`, parseIntOption('--snaplen', L.snapLen.min, L.snapLen.max))
    .option('--full', 'full payload for --peer only, until --for has passed')
    .option('--peer <address>', 'peer address or CIDR as the data shows it (pseudonym* or external)')
    .option('--port <n>', 'only this port (either side)', parseIntOption('--port', 1, 65535))
    .option('--for <duration>', `how long targeted capture lasts, e.g. 10m (at most ${formatDuration(L.peerCapture.maxMs)})`)))
    .action(async (agent: string, f: RemoteFlags & DeanonFlags & PeerCaptureFlags) => {
      if (f.full || f.peer !== undefined) {
        return reportCommand(await submitCommand(f, agent, 'capture.peer', peerCaptureParams(f)), f, printer(f));
      }
      if (f.snaplen === undefined) throw new UsageError('give --snaplen N, or --full --peer ADDRESS --for DURATION');
      if (f.port !== undefined || f.for !== undefined) throw new UsageError('--port and --for apply to targeted capture (--full --peer) only');
      reportCommand(await submitCommand(f, agent, 'capture.snaplen', { snapLen: f.snaplen }), f, printer(f));
    });

  remoteOptions(program
    .command('dump-size')
    .description('packets (and seconds) per dump on an agent')
    .argument('<agent>', 'agent id (or a unique prefix)')
    .argument('<packets>', `packets per dump, ${L.dumpPackets.min}..${L.dumpPackets.max}`)
    .option('--seconds <n>', `seconds per dump at most, ${L.dumpSeconds.min}..${L.dumpSeconds.max}`, parseIntOption('--seconds', L.dumpSeconds.min, L.dumpSeconds.max)))
    .action(async (agent: string, packets: string, f: RemoteFlags & { seconds?: number }) => {
      const n = parseIntOption('packets', L.dumpPackets.min, L.dumpPackets.max)(packets);
      reportCommand(await submitCommand(f, agent, 'capture.dump-size', { packets: n, ...(f.seconds ? { seconds: f.seconds } : {}) }), f, captureStateText);
    });

  for (const verb of ['stop', 'start'] as const) {
    remoteOptions(program
      .command(verb)
      .description(`${verb} an agent's capture, or its shipping (uploads ${verb === 'stop' ? 'pause; dumps wait in the spool' : 'resume'}; commands keep working)`)
      .argument('<agent>', 'agent id (or a unique prefix)')
      .argument('<component>', 'capture | shipping'))
      .action(async (agent: string, comp: string, f: RemoteFlags) => {
        reportCommand(await submitCommand(f, agent, verb === 'stop' ? 'component.stop' : 'component.start', { component: component(comp) }), f, captureStateText);
      });
  }
}
