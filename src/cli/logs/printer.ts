/**
 * Printing many containers' output to one stream, as docker-compose does: each line prefixed with
 * the container's name without the project (`web_1  | ...`), padded to the longest service name
 * plus 3, the prefix coloured (cyan, yellow, green, magenta, blue, then their bright forms) when
 * colours are on. Lines are written whole, so containers never interleave mid-line; each batch
 * of lines goes out in one write.
 */

const RAINBOW = ['36', '33', '32', '35', '34', '36;1', '33;1', '32;1', '35;1', '34;1'];

export interface PrinterOptions {
  color: boolean;
  prefix: boolean;
  /** Width of the name column: the longest service name + 3 (docker-compose's rule). */
  width: number;
}

export class LogPrinter {
  private next = 0;
  private readonly colours = new Map<string, string>();

  constructor(
    private readonly out: NodeJS.WritableStream,
    private readonly options: PrinterOptions,
  ) {}

  colour(name: string): string {
    let c = this.colours.get(name);
    if (c === undefined) {
      c = RAINBOW[this.next++ % RAINBOW.length] as string;
      this.colours.set(name, c);
    }
    return c;
  }

  prefixFor(name: string): string {
    if (!this.options.prefix) return '';
    const text = `${name.padEnd(this.options.width)} |`;
    return this.options.color ? `\x1b[${this.colour(name)}m${text}\x1b[0m ` : `${text} `;
  }

  /** A line of Flotilla's own about a container ("web_1 exited with code 0"), in its colour. */
  note(name: string, text: string): void {
    this.out.write(this.options.color ? `\x1b[${this.colour(name)}m${text}\x1b[0m\n` : `${text}\n`);
  }

  /** Prints a container's output, given as batches of complete lines, until it ends. */
  async print(name: string, batches: AsyncIterable<string[]>): Promise<void> {
    const prefix = this.prefixFor(name);
    for await (const lines of batches) {
      this.out.write(prefix === '' ? `${lines.join('\n')}\n` : `${prefix}${lines.join(`\n${prefix}`)}\n`);
    }
  }

}
