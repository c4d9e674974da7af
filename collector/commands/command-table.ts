// The top-level sub-commands of meerkat-collector, in help order, each with the loader of the
// module that registers it: collector/cli.ts loads only the one named on the command line.
import type { Command } from 'commander';

export interface CollectorCommand {
  /** the name the module registers on the program */
  name: string;
  load: () => Promise<(program: Command) => unknown>;
  /**
   * a service that runs for days (`run`): its schemas are parsed again and again, so it keeps
   * zod's compiled fast path; a one-shot command parses each a few times at most, and compiling
   * (a new Function per object schema) costs it more than it saves
   */
  longRunning?: boolean;
}

export const COLLECTOR_COMMANDS: readonly CollectorCommand[] = [
  { name: 'init', load: async () => (await import('./init.js')).registerInitCommand },
  { name: 'run', load: async () => (await import('./run.js')).register, longRunning: true },
  { name: 'token', load: async () => (await import('./token.js')).registerTokenCommands },
  { name: 'pki', load: async () => (await import('./pki.js')).registerPkiCommands },
  { name: 'import', load: async () => (await import('./import.js')).registerImportCommand },
  { name: 'model', load: async () => (await import('./model.js')).registerModelCommand },
  { name: 'org', load: async () => (await import('./org.js')).registerOrgCommands },
  { name: 'user', load: async () => (await import('./user.js')).registerUserCommands },
];
