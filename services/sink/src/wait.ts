/** Polls `condition` until it holds or `timeoutMs` passes (then throws, naming what was awaited). */
export async function waitFor(
  condition: () => Promise<boolean> | boolean,
  timeoutMs: number,
  what = 'condition',
  pollMs = 100,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      if (await condition()) return;
    } catch {
      // not yet: the thing polled may be unreachable on purpose
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, pollMs));
  }
}
