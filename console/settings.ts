// Where the console finds what it works with, one rule for each setting: the flag, else the
// environment, else ~/.meerkat/config.json ($MEERKAT_CONFIG; shared/config/console-config.ts),
// else the default.
//   the collector's API   --api URL          $MEERKAT_API_URL        "api"          https://127.0.0.1:9470
//   operator directory    --operator-dir D   $MEERKAT_OPERATOR_DIR   "operatorDir"  ~/.meerkat/operator
//   owner keys            --owner-keys D     $MEERKAT_OWNER_KEYS     "ownerKeys"    ~/.meerkat/owner-keys
//   organisation          --org ORG          $MEERKAT_ORG            "org"          default
// Renamed names are refused with the new one (MEERKAT_ADMIN_URL is now MEERKAT_API_URL).
import { join } from 'node:path';
import { UsageError } from '../shared/cli/run-cli.js';
import { meerkatHome, readConsoleConfig, type ConsoleConfig } from '../shared/config/console-config.js';
import { PORT_DEFAULTS } from '../shared/protocol/port-names.js';
import { DEFAULT_ORG, isOrgId } from '../shared/orgs/org-id.js';

export const DEFAULT_API_URL = `https://${PORT_DEFAULTS.api}`;

export type SettingSource = 'flag' | 'environment' | 'config' | 'default';

export interface Setting {
  value: string;
  source: SettingSource;
  /** the env variable or file it came from */
  from?: string;
}

const ENV = { api: 'MEERKAT_API_URL', operatorDir: 'MEERKAT_OPERATOR_DIR', ownerKeys: 'MEERKAT_OWNER_KEYS', org: 'MEERKAT_ORG' } as const;
const RENAMED_ENV: Readonly<Record<string, string>> = { MEERKAT_ADMIN_URL: ENV.api };

function fileSettings(): { file: string; config: ConsoleConfig } {
  for (const [old, now] of Object.entries(RENAMED_ENV)) {
    if (process.env[old] !== undefined) throw new UsageError(`${old} is now ${now} (the collector's API, its \`api\` port)`);
  }
  const r = readConsoleConfig();
  return { file: r.file, config: r.config };
}

function resolve(key: keyof typeof ENV, flag: string | undefined, fallback: string): Setting {
  if (flag !== undefined) return { value: flag, source: 'flag' };
  const env = process.env[ENV[key]];
  if (env) return { value: env, source: 'environment', from: ENV[key] };
  const s = fileSettings();
  const v = s.config[key];
  if (v !== undefined) return { value: v, source: 'config', from: s.file };
  return { value: fallback, source: 'default' };
}

export function apiUrlSetting(flag?: string): Setting {
  return resolve('api', flag, DEFAULT_API_URL);
}

export function operatorDirSetting(flag?: string): Setting {
  return resolve('operatorDir', flag, join(meerkatHome(), 'operator'));
}

export function ownerKeysSetting(flag?: string): Setting {
  return resolve('ownerKeys', flag, join(meerkatHome(), 'owner-keys'));
}

export function orgSetting(flag?: string): Setting {
  const s = resolve('org', flag, DEFAULT_ORG);
  if (!isOrgId(s.value)) {
    const where = s.source === 'flag' ? '--org' : s.from ?? s.source;
    throw new UsageError(`${where}: expected an organisation id (1-32 characters a-z, 0-9 and inner -, starting with a letter), got ${JSON.stringify(s.value)}`);
  }
  return s;
}

/** The organisation an org-scoped command works in. */
export function orgOf(flag?: string): string {
  return orgSetting(flag).value;
}

export function apiUrl(flag?: string): string {
  return apiUrlSetting(flag).value;
}

export function operatorDir(flag?: string): string {
  return operatorDirSetting(flag).value;
}

export function ownerKeysDir(flag?: string): string {
  return ownerKeysSetting(flag).value;
}

/** The settings file the console reads (for `meerkat config`). */
export function settingsFile(): string {
  return fileSettings().file;
}

/** The help text of each setting's flag: "(default $ENV, "key" of ~/.meerkat/config.json, or DEFAULT)". */
export function settingHelp(key: keyof typeof ENV): string {
  const dflt = key === 'api' ? DEFAULT_API_URL : key === 'operatorDir' ? '~/.meerkat/operator' : key === 'org' ? DEFAULT_ORG : '~/.meerkat/owner-keys';
  return `default $${ENV[key]}, "${key}" in ~/.meerkat/config.json, else ${dflt}`;
}
