import { ConfigError } from '../../errors.js';
import { readTextFile } from '../../util/input-files.js';

/**
 * docker-compose writes a seccomp profile option as `seccomp:FILE` whichever separator the file
 * used (`seccomp=FILE` too), except `unconfined`; files are merged after that, so the two
 * spellings of one option are one option.
 */
export function canonicalSecurityOpt(value: string): string {
  const m = /^seccomp[:=](.*)$/.exec(value);
  return m && m[1] !== 'unconfined' ? `seccomp:${m[1]}` : value;
}

/** The JSON of a seccomp profile file (an absolute path), read as every other input file is. */
export function readSeccompProfile(file: string): unknown {
  const text = readTextFile(file, 'seccomp profile');
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new ConfigError(`seccomp profile ${file} is not JSON: ${(e as Error).message}`, { file });
  }
}
