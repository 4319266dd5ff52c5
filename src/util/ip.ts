/**
 * isIP as node:net has it (0, 4 or 6), without loading node:net: the compiler checks addresses in
 * ports and subnets, and node:net (sockets, streams) is a large part of a `config`'s start-up.
 * Equivalence with node:net is tested (test/util/ip.test.ts).
 */
const V4_PART = '(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9][0-9]|[0-9])';
const V4 = `(?:${V4_PART}\\.){3}${V4_PART}`;
const G = '[0-9a-fA-F]{1,4}';
// One alternative per count of leading groups before "::" (or none), each ending in groups,
// an embedded IPv4 address, or the "::" itself.
const V6 =
  '(?:' +
  [
    `(?:${G}:){7}(?:${G}|:)`,
    `(?:${G}:){6}(?:${V4}|:${G}|:)`,
    `(?:${G}:){5}(?::${V4}|(?::${G}){1,2}|:)`,
    `(?:${G}:){4}(?:(?::${G}){0,1}:${V4}|(?::${G}){1,3}|:)`,
    `(?:${G}:){3}(?:(?::${G}){0,2}:${V4}|(?::${G}){1,4}|:)`,
    `(?:${G}:){2}(?:(?::${G}){0,3}:${V4}|(?::${G}){1,5}|:)`,
    `(?:${G}:){1}(?:(?::${G}){0,4}:${V4}|(?::${G}){1,6}|:)`,
    `(?::(?:(?::${G}){0,5}:${V4}|(?::${G}){1,7}|:))`,
  ].join('|') +
  ')(?:%[0-9a-zA-Z-.:]{1,})?';

const IPV4 = new RegExp(`^${V4}$`);
const IPV6 = new RegExp(`^${V6}$`);

export function isIP(text: string): 0 | 4 | 6 {
  if (IPV4.test(text)) return 4;
  if (IPV6.test(text)) return 6;
  return 0;
}
