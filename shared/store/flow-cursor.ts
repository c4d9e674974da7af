// The cursor of a flow page (GET /v1/flows "next"): the last record's start time and row id, as
// opaque text. One format for both stores (SQLite, PostgreSQL): pages are newest first by
// (start time, row id).
import { StoreError } from './flow-store.js';

export function encodeCursor(startUs: number, id: number): string {
  return Buffer.from(`${startUs}:${id}`, 'utf8').toString('base64url');
}

/** @throws StoreError when the text is not a cursor */
export function decodeCursor(text: string): { startUs: number; id: number } {
  const m = /^(\d{1,17}):(\d{1,17})$/.exec(Buffer.from(text, 'base64url').toString('utf8'));
  if (!m || !/^[A-Za-z0-9_-]+$/.test(text)) throw new StoreError(`not a flow page cursor: ${JSON.stringify(text.slice(0, 40))}`);
  return { startUs: Number(m[1]), id: Number(m[2]) };
}
