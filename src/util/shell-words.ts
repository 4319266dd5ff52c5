/**
 * Splits a command line into words the way Python's shlex.split (POSIX mode) does, which is how
 * docker-compose turns `command: "sh -c 'echo hi'"` into an argument list: whitespace separates
 * words; single quotes keep everything literally; inside double quotes a backslash escapes only
 * \ and "; outside quotes a backslash escapes any character.
 */

export class ShellWordsError extends Error {}

export function splitShellWords(line: string): string[] {
  const words: string[] = [];
  let word = '';
  let inWord = false;
  let i = 0;
  while (i < line.length) {
    const c = line.charAt(i);
    if (c === "'") {
      const end = line.indexOf("'", i + 1);
      if (end === -1) throw new ShellWordsError(`no closing quotation in: ${line}`);
      word += line.slice(i + 1, end);
      inWord = true;
      i = end + 1;
    } else if (c === '"') {
      i++;
      let closed = false;
      while (i < line.length) {
        const d = line.charAt(i);
        if (d === '"') {
          closed = true;
          i++;
          break;
        }
        if (d === '\\' && i + 1 < line.length && '\\"'.includes(line.charAt(i + 1))) {
          word += line.charAt(i + 1);
          i += 2;
        } else {
          word += d;
          i++;
        }
      }
      if (!closed) throw new ShellWordsError(`no closing quotation in: ${line}`);
      inWord = true;
    } else if (c === '\\') {
      if (i + 1 >= line.length) throw new ShellWordsError(`no escaped character in: ${line}`);
      word += line.charAt(i + 1);
      inWord = true;
      i += 2;
    } else if (/\s/.test(c)) {
      if (inWord) words.push(word);
      word = '';
      inWord = false;
      i++;
    } else {
      word += c;
      inWord = true;
      i++;
    }
  }
  if (inWord) words.push(word);
  return words;
}
