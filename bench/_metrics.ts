/**
 * What the benchmarks read from the services' /metrics: counters, and memory sampled while they run.
 */
import { setTimeout as sleep } from 'node:timers/promises';

/** A service's /metrics as samples: name, the label text between the braces, value. */
export async function scrape(port: number): Promise<{ name: string; labels: string; value: number }[]> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const samples: { name: string; labels: string; value: number }[] = [];
  for (const line of text.split('\n')) {
    const match = /^([a-z_]+)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (match) samples.push({ name: match[1]!, labels: match[2] ?? '', value: Number(match[3]) });
  }
  return samples;
}

/** Sum of a Prometheus counter over its label sets. */
export async function counter(port: number, name: string): Promise<number> {
  let sum = 0;
  for (const sample of await scrape(port)) if (sample.name === name) sum += sample.value;
  return sum;
}

/** A Prometheus counter summed per value of one label, e.g. the detector's transactions by stage. */
export async function counterBy(port: number, name: string, label: string): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const sample of await scrape(port)) {
    if (sample.name !== name) continue;
    const value = new RegExp(`${label}="([^"]*)"`).exec(sample.labels)?.[1] ?? '';
    out[value] = (out[value] ?? 0) + sample.value;
  }
  return out;
}

/** A service's memory gauges (prom-client's process and V8 heap metrics), in MiB. */
export async function memoryGauges(port: number): Promise<Record<string, number>> {
  const wanted: Record<string, string> = {
    process_resident_memory_bytes: 'rss',
    nodejs_heap_size_total_bytes: 'heap_total',
    nodejs_heap_size_used_bytes: 'heap_used',
    nodejs_external_memory_bytes: 'external',
  };
  const out: Record<string, number> = {};
  for (const { name, labels, value } of await scrape(port)) {
    const space = /space="(new|old)"/.exec(labels)?.[1];
    const key = name === 'nodejs_heap_space_size_total_bytes' ? space && `${space}_space` : wanted[name];
    if (key) out[key] = Math.round(value / 1024 / 1024);
  }
  return out;
}

/**
 * Samples every service's memory gauges every `intervalMs` (twice a second by default); `stop()` gives
 * the highest value of each gauge per service, to tell a V8 heap that grew from buffers held outside
 * it. `onSample` sees every sample, for figures over time.
 */
export function sampleMemory(
  ports: Map<string, number>,
  {
    intervalMs = 500,
    onSample,
  }: { intervalMs?: number; onSample?: (name: string, gauges: Record<string, number>) => void } = {},
) {
  const peaks: Record<string, Record<string, number>> = {};
  let running = true;
  const loop = (async () => {
    while (running) {
      for (const [name, port] of ports) {
        const gauges = await memoryGauges(port).catch(() => ({}) as Record<string, number>);
        const peak = peaks[name] ?? {};
        peaks[name] = peak;
        for (const [key, value] of Object.entries(gauges)) peak[key] = Math.max(peak[key] ?? 0, value);
        onSample?.(name, gauges);
      }
      await sleep(intervalMs);
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      return peaks;
    },
  };
}
