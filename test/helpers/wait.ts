/** Polling until a probe gives a value: the one loop the tests that wait on a daemon or the host share. */
import { setTimeout as sleep } from 'node:timers/promises';

type Maybe<T> = T | null | undefined | false;

/** The probe's first truthy value; throws "timed out waiting for WHAT" after timeoutMs. */
export async function waitFor<T>(what: string, probe: () => Maybe<T> | Promise<Maybe<T>>, timeoutMs = 30_000, intervalMs = 100): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(intervalMs);
  }
}
