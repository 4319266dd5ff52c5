/**
 * Pull-style reading of a byte stream in exact amounts, for the tar reader: whole 512-byte
 * headers, and entry bodies handed on as slices of the chunks the stream delivered (never a whole
 * entry in memory).
 */

const EMPTY = Buffer.alloc(0);

/** The stream ended in the middle of something; `got` bytes of it had arrived. */
export class EndOfStream extends Error {
  constructor(readonly got: number) {
    super('unexpected end of stream');
  }
}

export class ByteReader {
  private chunk: Buffer = EMPTY;
  private pos = 0;
  private done = false;
  /** Bytes handed out (or skipped) so far. */
  offset = 0;

  constructor(private readonly source: AsyncIterator<Uint8Array>) {}

  /** Makes the current chunk non-empty; false at the end of the stream. */
  private async fill(): Promise<boolean> {
    while (this.pos >= this.chunk.length) {
      if (this.done) return false;
      const r = await this.source.next();
      if (r.done) {
        this.done = true;
        return false;
      }
      this.chunk = Buffer.isBuffer(r.value) ? r.value : Buffer.from(r.value.buffer, r.value.byteOffset, r.value.byteLength);
      this.pos = 0;
    }
    return true;
  }

  /**
   * Exactly `n` bytes; null when the stream ends before the first of them, EndOfStream when it
   * ends after some.
   */
  async read(n: number): Promise<Buffer | null> {
    if (!(await this.fill())) return null;
    if (this.chunk.length - this.pos >= n) {
      const out = this.chunk.subarray(this.pos, this.pos + n);
      this.pos += n;
      this.offset += n;
      return out;
    }
    const parts: Buffer[] = [];
    let got = 0;
    while (got < n) {
      if (!(await this.fill())) throw new EndOfStream(got);
      const take = Math.min(n - got, this.chunk.length - this.pos);
      parts.push(this.chunk.subarray(this.pos, this.pos + take));
      this.pos += take;
      got += take;
    }
    this.offset += n;
    return Buffer.concat(parts, n);
  }

  /** Up to `max` bytes (at least one) from what has arrived; EndOfStream at the end. */
  async some(max: number): Promise<Buffer> {
    if (!(await this.fill())) throw new EndOfStream(0);
    const take = Math.min(max, this.chunk.length - this.pos);
    const out = this.chunk.subarray(this.pos, this.pos + take);
    this.pos += take;
    this.offset += take;
    return out;
  }

  /** Skips exactly `n` bytes; EndOfStream (with how many were skipped) when fewer remain. */
  async skip(n: number): Promise<void> {
    let left = n;
    while (left > 0) {
      if (!(await this.fill())) throw new EndOfStream(n - left);
      const take = Math.min(left, this.chunk.length - this.pos);
      this.pos += take;
      this.offset += take;
      left -= take;
    }
  }

  /** Reads whatever is left, returning how many bytes that was. */
  async drain(): Promise<number> {
    let n = 0;
    while (await this.fill()) {
      n += this.chunk.length - this.pos;
      this.pos = this.chunk.length;
    }
    this.offset += n;
    return n;
  }
}
