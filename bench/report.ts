// Collects benchmark figures and prints them as a table or as JSON (--json),
// so later runs can be compared. A figure may carry a reference measured in the
// same run (e.g. Argus on the same capture) and the ratio between them.

export interface Figure {
  name: string;
  value: number;
  unit: string;
  /** the reference tool's figure measured in the same run, same unit */
  reference?: { name: string; value: number };
  /** the target this figure is held against, for the reader */
  target?: string;
  note?: string;
}

export class BenchReport {
  readonly figures: Figure[] = [];

  add(f: Figure): void {
    this.figures.push(f);
    if (!this.quiet) process.stderr.write(`  measured ${f.name}: ${fmt(f.value)} ${f.unit}\n`);
  }

  constructor(private readonly quiet = false) {}

  toJson(): string {
    return JSON.stringify(
      this.figures.map((f) => ({
        name: f.name,
        value: round(f.value),
        unit: f.unit,
        ...(f.reference ? { reference: f.reference.name, reference_value: round(f.reference.value), ratio: round(f.value / f.reference.value) } : {}),
        ...(f.target ? { target: f.target } : {}),
        ...(f.note ? { note: f.note } : {}),
      })),
      null,
      2,
    );
  }

  toTable(): string {
    const rows = this.figures.map((f) => [
      f.name,
      `${fmt(f.value)} ${f.unit}`,
      f.reference ? `${f.reference.name}: ${fmt(f.reference.value)}` : '',
      f.reference ? `x${fmt(f.value / f.reference.value)}` : '',
      f.target ?? '',
    ]);
    const head = ['figure', 'value', 'reference (same run)', 'ratio', 'target'];
    const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
    const line = (r: string[]) => r.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd();
    const notes = this.figures.filter((f) => f.note !== undefined).map((f) => `- ${f.name}: ${f.note}`);
    return [line(head), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line), ...(notes.length > 0 ? ['', 'notes:', ...notes] : [])].join('\n');
  }
}

function round(n: number): number {
  return Math.abs(n) >= 100 ? Math.round(n) : Math.round(n * 1000) / 1000;
}

export function fmt(n: number): string {
  if (!Number.isFinite(n)) return String(n);
  if (Math.abs(n) >= 1e6) return (n / 1e6).toFixed(2) + 'M';
  if (Math.abs(n) >= 1e4) return Math.round(n).toLocaleString('en-US');
  if (Math.abs(n) >= 100) return n.toFixed(0);
  return n.toFixed(2);
}

/** CPU seconds (user+system) of this process spent in fn. */
export async function cpuSeconds<T>(fn: () => Promise<T> | T): Promise<{ result: T; cpu: number; wall: number }> {
  const c0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  const result = await fn();
  const c = process.cpuUsage(c0);
  const wall = Number(process.hrtime.bigint() - t0) / 1e9;
  return { result, cpu: (c.user + c.system) / 1e6, wall };
}
