/** At most `limit` engine operations at once (COMPOSE_PARALLEL_LIMIT, default 64 as in docker-compose). */
export class Limiter {
  private active = 0;
  private readonly queue: (() => void)[] = [];

  constructor(readonly limit: number) {}

  async run<T>(fn: () => Promise<T>): Promise<T> {
    if (this.active >= this.limit) await new Promise<void>((resolve) => this.queue.push(resolve));
    this.active++;
    try {
      return await fn();
    } finally {
      this.active--;
      this.queue.shift()?.();
    }
  }
}

export function parallelLimit(env: Readonly<Record<string, string | undefined>>): number {
  const raw = env['COMPOSE_PARALLEL_LIMIT'];
  if (raw === undefined || raw === '') return 64;
  const n = Number(raw);
  if (!Number.isInteger(n)) throw new Error(`COMPOSE_PARALLEL_LIMIT must be an integer (found: "${raw}")`);
  if (n < 2) throw new Error('COMPOSE_PARALLEL_LIMIT can not be less than 2');
  return n;
}
