/** Signal names and numbers: "SIGTERM", "TERM", "term" and "15" all mean SIGTERM. */
import { constants } from 'node:os';
import { EngineError } from '../../contract/errors.js';

const SIGNALS = constants.signals as Readonly<Record<string, number>>;

export function parseSignal(signal: string): { name: NodeJS.Signals; number: number } {
  const s = signal.trim().toUpperCase();
  if (/^\d+$/.test(s)) {
    const n = Number(s);
    const name = Object.keys(SIGNALS).find((k) => SIGNALS[k] === n);
    if (name) return { name: name as NodeJS.Signals, number: n };
  } else {
    const name = s.startsWith('SIG') ? s : `SIG${s}`;
    const n = SIGNALS[name];
    if (n !== undefined) return { name: name as NodeJS.Signals, number: n };
  }
  throw new EngineError('invalid', `invalid signal ${JSON.stringify(signal)}`);
}
