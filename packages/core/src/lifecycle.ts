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
 * docker-compose.yml as NODE_OPTIONS); start services with them when you run them yourself.
 * - `--max-semi-space-size=16`: V8 sizes the young generation by the machine's memory. On a 24 GiB
 *   machine it grew to 128 MiB per service (two 64 MiB semi-spaces), more than the old generation
 *   held. 16 MiB semi-spaces cost more frequent, still short scavenges; in the end-to-end benchmark
 *   they took the pricer's peak RSS from about 430 to 290 MiB and the detector's from 360 to 270.
 * - `--disable-warning=TimeoutNegativeWarning`: unpatched kafkajs schedules timers with a negative
 *   delay (patches/kafkajs+2.2.4.patch removes the cause); kept for installs without the patch.
 */
export const SERVICE_NODE_FLAGS: readonly string[] = [
  '--max-semi-space-size=16',
  '--disable-warning=TimeoutNegativeWarning',
];
