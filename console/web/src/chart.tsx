// A time-series line chart (uPlot: small, fast, canvas): one series over minutes.
import { useEffect, useRef } from 'preact/hooks';
import uPlot from 'uplot';

export function LineChart({ title, times, values, unit }: { title: string; times: number[]; values: number[]; unit: (v: number) => string }) {
  const el = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  useEffect(() => {
    if (!el.current) return undefined;
    const opts: uPlot.Options = {
      title, width: Math.max(300, el.current.clientWidth || 480), height: 180,
      series: [{}, { label: title, stroke: '#2563eb', fill: 'rgba(37,99,235,0.12)', width: 1.5, value: (_u, v) => (v === null ? '-' : unit(v)) }],
      axes: [{}, { values: (_u, ticks) => ticks.map((t) => unit(t)), size: 70 }],
      legend: { show: true },
    };
    plot.current = new uPlot(opts, [times, values], el.current);
    return () => { plot.current?.destroy(); plot.current = null; };
  }, [title]);
  useEffect(() => { plot.current?.setData([times, values]); }, [times, values]);
  return <div class="chart" ref={el} aria-label={title} />;
}
