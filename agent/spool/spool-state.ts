// The spool's small persistent state: the next dump sequence number and the
// drop/corruption counters. Stored as JSON, written atomically.
import { readFileSync } from 'node:fs';
import { writeFileAtomic, TEMP_PREFIX } from './atomic-file.js';
import { writeFileAtomicAsync } from './write-queue.js';
import { join } from 'node:path';

export interface SpoolState {
  version: 1;
  nextSequence: number;
  droppedDumps: number;
  droppedPackets: number;
  droppedBytes: number;
  corrupt: number;
}

const STATE_FILE = 'spool-state.json';

export function freshState(nextSequence: number): SpoolState {
  return { version: 1, nextSequence, droppedDumps: 0, droppedPackets: 0, droppedBytes: 0, corrupt: 0 };
}

/** The stored state, or undefined when missing or unreadable (the caller recovers). */
export function loadState(dir: string): SpoolState | undefined {
  let text: string;
  try {
    text = readFileSync(join(dir, STATE_FILE), 'utf8');
  } catch {
    return undefined;
  }
  try {
    const o = JSON.parse(text) as Record<string, unknown>;
    const count = (k: string): number => {
      const v = o[k];
      if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) throw new Error(k);
      return v;
    };
    if (o.version !== 1) return undefined;
    return {
      version: 1,
      nextSequence: count('nextSequence'),
      droppedDumps: count('droppedDumps'),
      droppedPackets: count('droppedPackets'),
      droppedBytes: count('droppedBytes'),
      corrupt: count('corrupt'),
    };
  } catch {
    return undefined;
  }
}

export function saveState(dir: string, s: SpoolState): void {
  writeFileAtomic(join(dir, STATE_FILE), join(dir, `${TEMP_PREFIX}state-${process.pid}`), Buffer.from(JSON.stringify(s) + '\n'));
}

/** saveState off the event loop (the spool's write queue runs one at a time, so the temp name is free). */
export function saveStateAsync(dir: string, s: SpoolState): Promise<void> {
  return writeFileAtomicAsync(join(dir, STATE_FILE), join(dir, `${TEMP_PREFIX}state-${process.pid}`), Buffer.from(JSON.stringify(s) + '\n'));
}
