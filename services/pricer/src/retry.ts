/**
 * Retries an admin request while the broker says the failure is transient (kafkajs marks those
 * `retriable`: a leader moving, a topic's metadata still propagating after creation). Anything
 * else, or running out of attempts, rethrows the last error.
 */
export async function retryRetriable<T>(
  operation: () => Promise<T>,
  attempts = 10,
  firstDelayMs = 100,
): Promise<T> {
  let delayMs = firstDelayMs;
  for (let attempt = 1; ; attempt++) {
    try {
      return await operation();
    } catch (err) {
      if (attempt >= attempts || (err as { retriable?: boolean }).retriable !== true) throw err;
      await new Promise((done) => setTimeout(done, delayMs));
      delayMs = Math.min(delayMs * 2, 2_000);
    }
  }
}
