/**
 * docker-compose writes a seccomp profile option as `seccomp:FILE` whichever separator the file
 * used (`seccomp=FILE` too), except `unconfined`; files are merged after that, so the two
 * spellings of one option are one option.
 */
export function canonicalSecurityOpt(value: string): string {
  const m = /^seccomp[:=](.*)$/.exec(value);
  return m && m[1] !== 'unconfined' ? `seccomp:${m[1]}` : value;
}
