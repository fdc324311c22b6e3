/**
 * Runs a service under a signal handler and shuts it down in reverse order of construction:
 * stop consuming → flush → commit → close clients. Each main.ts registers steps as it builds
 * components, so the order is the build order read backwards and cannot drift.
 */
import type { Logger } from './logger.ts';

export interface Lifecycle {
  /** Registers a shutdown step; steps run last-registered first. */
  onShutdown(name: string, step: () => Promise<void> | void): void;
  /** Runs every step once, within the deadline; resolves with whether all steps finished cleanly. */
  shutdown(reason: string): Promise<boolean>;
  /** Installs SIGINT/SIGTERM handlers that shut down and exit. */
  handleSignals(): void;
}

export function createLifecycle({ logger, timeoutMs }: { logger: Logger; timeoutMs: number }): Lifecycle {
  const steps: { name: string; step: () => Promise<void> | void }[] = [];
  let shuttingDown: Promise<boolean> | undefined;

  async function runSteps(): Promise<boolean> {
    let clean = true;
    for (const { name, step } of [...steps].reverse()) {
      try {
        await step();
        logger.debug({ step: name }, 'shutdown step done');
      } catch (err) {
        clean = false;
        logger.error({ err, step: name }, 'shutdown step failed');
      }
    }
    return clean;
  }

  const lifecycle: Lifecycle = {
    onShutdown(name, step) {
      steps.push({ name, step });
    },
    shutdown(reason) {
      if (shuttingDown) return shuttingDown;
      logger.info({ reason, timeoutMs }, 'shutting down');
      let timer: NodeJS.Timeout | undefined;
      const deadline = new Promise<boolean>((resolve) => {
        timer = setTimeout(() => {
          logger.error({ timeoutMs }, 'shutdown deadline passed');
          resolve(false);
        }, timeoutMs);
        timer.unref();
      });
      shuttingDown = Promise.race([runSteps(), deadline]).finally(() => clearTimeout(timer));
      return shuttingDown;
    },
    handleSignals() {
      for (const signal of ['SIGINT', 'SIGTERM'] as const) {
        process.once(signal, () => {
          void lifecycle.shutdown(signal).then((clean) => process.exit(clean ? 0 : 1));
        });
      }
    },
  };
  return lifecycle;
}

/**
 * Node flags every Tollgate service is started with (`tollgate up`, the test and benchmark pipeline,
 * docker-compose.yml); start services with them, and with {@link SERVICE_ENV}, when you run them
 * yourself.
 * - `--max-semi-space-size=16`: V8 sizes the young generation by the machine's memory. On a 24 GiB
 *   machine it grew to 128 MiB per service (two 64 MiB semi-spaces), more than the old generation
 *   held. 16 MiB semi-spaces cost more frequent, still short scavenges; in the end-to-end benchmark
 *   they took the pricer's peak RSS from about 430 to 290 MiB and the detector's from 360 to 270.
 * - `--heap-growing-percent=100`: after a full collection V8 lets the old generation grow to up to
 *   four times what survived before it collects again. Under a backlog each service keeps 25–45 MiB
 *   alive and its old generation reached 75–95 MiB; at twice the live size it stays at 40–60, with no
 *   CPU cost measurable in the end-to-end benchmark (30 % instead: 20–40 % more CPU in the pricer and
 *   the sink). Proportional, so a detector holding more state still gets room. Not accepted in
 *   NODE_OPTIONS: a command-line flag.
 * - `--disable-warning=TimeoutNegativeWarning`: unpatched kafkajs schedules timers with a negative
 *   delay (patches/kafkajs+2.2.4.patch removes the cause); kept for installs without the patch.
 */
export const SERVICE_NODE_FLAGS: readonly string[] = [
  '--max-semi-space-size=16',
  '--heap-growing-percent=100',
  '--disable-warning=TimeoutNegativeWarning',
];

/**
 * Environment every Tollgate service is started with, next to {@link SERVICE_NODE_FLAGS}; a value
 * already in the caller's environment wins. glibc's malloc (musl ignores these):
 * - `MALLOC_MMAP_THRESHOLD_=131072`, `MALLOC_TRIM_THRESHOLD_=131072`: glibc raises its mmap threshold
 *   each time a mapped block is freed, so after the first fetch response the 0.1–1 MiB buffers of
 *   Kafka fetches, produce requests and ClickHouse bodies came from the brk heap, which returns memory
 *   to the system only from its top: the services' brk heaps held 95–135 MiB at their peaks. With the
 *   thresholds fixed such blocks are mapped and unmapped, and the brk heap peaked at 30–70 MiB.
 */
export const SERVICE_ENV: Readonly<Record<string, string>> = {
  MALLOC_MMAP_THRESHOLD_: '131072',
  MALLOC_TRIM_THRESHOLD_: '131072',
};
