/**
 * What `npm start` keeps in its data folder besides DynamoDB Local's and fauxqs's own files: the
 * Payple sandbox's billing keys and charges (without them a kept subscription's key would be unknown
 * after a restart, and every renewal a hard decline) and how far the clock had travelled (so time
 * never runs backwards under kept subscriptions and payments).
 *
 * Written atomically (a temporary file, then a rename) every few seconds while something changed and
 * when the stack stops; a missing file is a first run, an unreadable one is reported and ignored.
 */
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import type { LedgerSnapshot } from './payple-sandbox/index.ts';

export interface SavedState {
  readonly version: 1;
  /** The local clock's time when saved, and this machine's: the clock resumes `clockAt + elapsed`. */
  readonly clockAt: number;
  readonly savedAt: number;
  readonly sandbox: LedgerSnapshot;
}

const FILE_NAME = 'local-stack.json';

const savedStateSchema = z.object({
  version: z.literal(1),
  clockAt: z.number().int(),
  savedAt: z.number().int(),
  sandbox: z.object({
    version: z.literal(1),
    oidCounter: z.number().int().nonnegative(),
    billingKeys: z.array(z.object({ payerId: z.string(), payType: z.enum(['card', 'transfer']) }).loose()),
    charges: z.array(z.object({ oid: z.string(), cstId: z.string() }).loose()),
  }),
});

export function savedStatePath(dataDir: string): string {
  return join(dataDir, FILE_NAME);
}

/** The saved state, or undefined on a first run (or, with a warning, when the file is unreadable). */
export function readSavedState(dataDir: string): SavedState | undefined {
  let text: string;
  try {
    text = readFileSync(savedStatePath(dataDir), 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  try {
    return savedStateSchema.parse(JSON.parse(text)) as unknown as SavedState;
  } catch {
    console.warn(`${savedStatePath(dataDir)} is not readable; starting the sandbox and clock afresh`);
    return undefined;
  }
}

export function writeSavedState(dataDir: string, state: SavedState): void {
  mkdirSync(dataDir, { recursive: true });
  const target = savedStatePath(dataDir);
  const temporary = `${target}.${process.pid}.tmp`;
  writeFileSync(temporary, JSON.stringify(state));
  renameSync(temporary, target);
}

/** Where the clock resumes: as far ahead of this machine's clock as when it was saved. */
export function resumeClockAt(state: SavedState, now: number): number {
  return state.clockAt + Math.max(0, now - state.savedAt);
}
