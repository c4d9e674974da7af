// Windows backend: runs the commands from windows-firewall.ts in one non-interactive
// PowerShell, reads our rules back with Get-NetFirewallRule / Get-NetQosPolicy.
// NOT RUN ON WINDOWS YET: only the generated commands are unit-tested (docs/interdiction.md).
import { findExecutable, runChecked } from './command-runner.js';
import type { FirewallBackend, KernelReadback } from './firewall-backend.js';
import type { InterdictionPolicy } from './policy.js';
import { buildWindowsFirewallCommands, ruleIdsFromWindowsList, windowsListCommand, windowsReleaseCommands } from './windows-firewall.js';

export class WindowsFirewallBackend implements FirewallBackend {
  readonly name = 'windows' as const;
  private generation = 0;

  constructor(private readonly powershell: string) {}

  static detect(): WindowsFirewallBackend | undefined {
    if (process.platform !== 'win32') return undefined;
    const ps = findExecutable('powershell.exe') ?? `${process.env.SystemRoot ?? 'C:\\Windows'}\\System32\\WindowsPowerShell\\v1.0\\powershell.exe`;
    return new WindowsFirewallBackend(ps);
  }

  private run(script: string): Promise<{ stdout: string }> {
    return runChecked(this.powershell, ['-NoProfile', '-NonInteractive', '-ExecutionPolicy', 'Bypass', '-Command', '-'], { input: script + '\n', timeoutMs: 60_000 });
  }

  async apply(policy: InterdictionPolicy): Promise<void> {
    const rules = planIsEmpty(policy) ? windowsReleaseCommands() : buildWindowsFirewallCommands(policy, this.nextGeneration()).commands;
    await this.run(rules.join('\n'));
  }

  async readBack(): Promise<KernelReadback> {
    const { stdout } = await this.run(windowsListCommand());
    return { listing: stdout.trim(), ruleComments: ruleIdsFromWindowsList(stdout) };
  }

  expectedComments(policy: InterdictionPolicy): string[] {
    return planIsEmpty(policy) ? [] : buildWindowsFirewallCommands(policy, 'x').ruleIds;
  }

  private nextGeneration(): string {
    // time-based so that a restarted agent never reuses the generation now installed
    this.generation = Math.max(this.generation + 1, Date.now());
    return this.generation.toString(36);
  }
}

function planIsEmpty(p: InterdictionPolicy): boolean {
  return p.mode !== 'isolate' && p.blocks.length === 0 && p.degrade.length === 0;
}
