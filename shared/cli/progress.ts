// Progress bars for long operations (cli-progress), on stderr, only when stderr
// is a terminal (or MEERKAT_PROGRESS=1), so scripts and logs stay clean. cli-progress is
// loaded only when a bar is drawn: batch runs (replay into a pipe) do not pay for loading it.

export interface Progress {
  update(value: number, payload?: Record<string, string | number>): void;
  stop(): void;
}

const NOOP: Progress = { update() {}, stop() {} };

export async function startProgress(total: number, label: string, unit = 'bytes'): Promise<Progress> {
  const enabled = process.env.MEERKAT_PROGRESS === '1' || (process.stderr.isTTY && process.env.MEERKAT_PROGRESS !== '0');
  if (!enabled || total <= 0) return NOOP;
  const { default: cliProgress } = await import('cli-progress');
  const bar = new cliProgress.SingleBar(
    {
      stream: process.stderr,
      format: `${label} [{bar}] {percentage}% | {value}/{total} ${unit} | {detail} | eta {eta_formatted}`,
      hideCursor: true,
      etaBuffer: 50,
      fps: 5,
    },
    cliProgress.Presets.shades_classic,
  );
  bar.start(total, 0, { detail: '' });
  return {
    update: (v, payload) => bar.update(v, { detail: '', ...payload }),
    stop: () => bar.stop(),
  };
}
