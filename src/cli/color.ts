/** Colours only on a terminal, and never with --no-color or NO_COLOR set. */
import type { CliContext, GlobalOptions } from './context.js';

export function useColor(ctx: CliContext, global: GlobalOptions, commandAllows = true): boolean {
  if (!commandAllows || global.color === false) return false;
  if (ctx.env['NO_COLOR'] !== undefined && ctx.env['NO_COLOR'] !== '') return false;
  return (ctx.stdout as NodeJS.WriteStream).isTTY === true;
}
