// `meerkat config`: the settings the console uses and where each comes from (flag,
// environment, ~/.meerkat/config.json, default), so a wrong API address or operator directory
// is found without guessing (console/settings.ts has the rule).
import type { Command } from 'commander';
import { apiUrlSetting, operatorDirSetting, orgSetting, ownerKeysSetting, settingsFile, type Setting } from '../settings.js';
import { apiOptions, type RemoteFlags } from './remote-command.js';

export function registerSettingsCommand(program: Command): void {
  apiOptions(program
    .command('config')
    .description('show the settings the console uses (API address, operator directory, owner keys, organisation) and where each comes from'))
    .option('--owner-keys <dir>', 'owner key directory')
    .option('--json', 'print them as one JSON object')
    .action((f: RemoteFlags & { ownerKeys?: string }) => {
      const all: Record<string, Setting> = { api: apiUrlSetting(f.api), operatorDir: operatorDirSetting(f.operatorDir), ownerKeys: ownerKeysSetting(f.ownerKeys), org: orgSetting(f.org) };
      if (f.json) {
        process.stdout.write(JSON.stringify({ file: settingsFile(), ...all }) + '\n');
        return;
      }
      process.stdout.write(`settings file: ${settingsFile()}\n`);
      for (const [k, s] of Object.entries(all)) process.stdout.write(`${k.padEnd(12)} ${s.value}  (${s.source}${s.from ? `: ${s.from}` : ''})\n`);
    });
}
