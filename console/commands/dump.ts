// `meerkat dump inspect FILE`: a dump file's header and its packet records.
import type { Command } from 'commander';
import { readFileSync } from 'node:fs';
import { decodeDump, type DumpHeader } from '../../shared/dump/index.js';
import { recordToJson } from '../../shared/packet/record-json.js';
import { parseIntOption } from '../../shared/cli/run-cli.js';

function headerJson(h: DumpHeader): Record<string, unknown> {
  return {
    version: h.version,
    agentId: h.agentId,
    sequence: h.sequence,
    first: new Date(h.firstTsUs / 1000).toISOString(),
    last: new Date(h.lastTsUs / 1000).toISOString(),
    firstUs: h.firstTsUs,
    lastUs: h.lastTsUs,
    packetCount: h.packetCount,
    tupleCount: h.tupleCount,
    linkType: h.linkType,
    anonKeyId: h.anonKeyId,
    snapLen: h.snapLen,
    compression: h.compression,
    flags: h.flags,
    compressedSize: h.compressedSize,
    uncompressedSize: h.uncompressedSize,
  };
}

export function registerDumpCommands(program: Command): void {
  const dump = program.command('dump').description('dump files (the agent -> collector packet record format)');
  dump
    .command('inspect')
    .description("print a dump's header and one JSON object per packet record; damaged files are rejected with the reason")
    .argument('<file>', 'dump file (.mkd)')
    .option('--json', 'print the header as a JSON line too (all output is then JSON lines)')
    .option('--header-only', 'print only the header')
    .option('--limit <n>', 'print at most N records', parseIntOption('--limit', 0))
    .action((file: string, opts: { json?: boolean; headerOnly?: boolean; limit?: number }) => {
      const bytes = readFileSync(file);
      const d = decodeDump(bytes);
      const h = headerJson(d.header);
      if (opts.json) process.stdout.write(JSON.stringify({ header: h }) + '\n');
      else {
        process.stdout.write(`dump ${file}\n`);
        for (const [k, v] of Object.entries(h)) process.stdout.write(`  ${k.padEnd(18)} ${String(v)}\n`);
        process.stdout.write(`  bytes per packet   ${(bytes.length / Math.max(1, d.packetCount)).toFixed(2)}\n`);
      }
      if (opts.headerOnly) return;
      const limit = opts.limit ?? Infinity;
      const out: string[] = [];
      d.forEach((rec, i) => {
        if (i >= limit) return;
        out.push(JSON.stringify(recordToJson(rec)));
        if (out.length >= 1000) { process.stdout.write(out.join('\n') + '\n'); out.length = 0; }
      });
      if (out.length) process.stdout.write(out.join('\n') + '\n');
    });
}
