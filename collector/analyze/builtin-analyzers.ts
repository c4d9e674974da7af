// The built-in analyzers by name. Each is an ordinary Analyzer (the same interface a
// user module implements) and declares its config schema (Analyzer.configSchema); a factory
// gives every configured instance its own state.
import type { Analyzer } from './analyzer.js';
import { BeaconAnalyzer } from './beacon-analyzer.js';
import { MachineExceptionsAnalyzer } from './machine-exceptions-analyzer.js';
import { ScanAnalyzer } from './scan-analyzer.js';
import { SensitivePortsAnalyzer } from './sensitive-ports-analyzer.js';
import { SignatureAnalyzer } from './signature/signature-analyzer.js';
import { ThreatIntelAnalyzer } from './threat-intel/threat-intel-analyzer.js';
import { VolumeAnalyzer } from './volume-analyzer.js';
import { DgaAnalyzer } from './dga/dga-analyzer.js';

export const BUILTIN_ANALYZERS = {
  'threat-intel': () => new ThreatIntelAnalyzer(),
  'sensitive-ports': () => new SensitivePortsAnalyzer(),
  'machine-exceptions': () => new MachineExceptionsAnalyzer(),
  scan: () => new ScanAnalyzer(),
  beacon: () => new BeaconAnalyzer(),
  volume: () => new VolumeAnalyzer(),
  'machine-signature': () => new SignatureAnalyzer(),
  dga: () => new DgaAnalyzer(),
} satisfies Record<string, () => Analyzer>;

export type BuiltinAnalyzerName = keyof typeof BUILTIN_ANALYZERS;

export const BUILTIN_NAMES = Object.keys(BUILTIN_ANALYZERS) as BuiltinAnalyzerName[];

export function isBuiltinName(name: string): name is BuiltinAnalyzerName {
  return Object.hasOwn(BUILTIN_ANALYZERS, name);
}

export function createBuiltin(name: BuiltinAnalyzerName): Analyzer {
  return BUILTIN_ANALYZERS[name]();
}
