/**
 * JSON for swarm objects as they cross the daemon's socket and sit in the swarm store: Buffers
 * (secret and config data) as `{"$base64": "..."}`, everything else as JSON has it.
 */

export function toWireJson(value: unknown): string {
  return JSON.stringify(value, function (this: Record<string, unknown>, key: string, v: unknown) {
    // JSON.stringify has already called Buffer's toJSON on `v`: the Buffer itself is this[key].
    const raw = this[key];
    return Buffer.isBuffer(raw) ? { $base64: raw.toString('base64') } : v;
  });
}

export function fromWireJson(text: string): unknown {
  return JSON.parse(text, (_key, v: unknown) => {
    if (v !== null && typeof v === 'object' && !Array.isArray(v)) {
      const keys = Object.keys(v);
      const encoded = (v as { $base64?: unknown }).$base64;
      if (keys.length === 1 && typeof encoded === 'string') return Buffer.from(encoded, 'base64');
    }
    return v;
  });
}
