/**
 * The Dockerfile's structure: parser directives, then one record per instruction with its line
 * numbers, its arguments (continuations joined, comment lines and empty continuation lines
 * dropped, as BuildKit joins them) and its heredocs. dockerfile-ast finds the instructions and
 * heredoc bodies; the rules it does not apply as BuildKit does are applied here: directive
 * values are checked, heredoc bodies are taken raw from the text, `<<-` strips leading tabs.
 * Arguments are interpreted per instruction in ./instructions.ts.
 */
import { DockerfileParser } from 'dockerfile-ast';
import { DockerfileError } from './errors.js';

export interface Heredoc {
  name: string;
  /** The body, every line ending in "\n" (leading tabs removed for `<<-`). */
  content: string;
  /** False when the name was quoted: the body is then taken literally. */
  expand: boolean;
  chomp: boolean;
}

export interface RawInstruction {
  /** Upper case, as written otherwise. */
  keyword: string;
  /** 1-based lines of the instruction's first and last line (heredoc bodies included). */
  line: number;
  endLine: number;
  /** Everything after the keyword on the logical line; "" when there is nothing. */
  args: string;
  heredocs: Heredoc[];
}

export interface ParsedDockerfile {
  file: string;
  escape: '\\' | '`';
  /** `syntax` and the like, lower-case names. */
  directives: Record<string, string>;
  instructions: RawInstruction[];
}

const HEREDOC_KEYWORDS = new Set(['RUN', 'COPY', 'ADD']);
const HEREDOC_START = /<<(-?)(["']?)([^\s"'<>|&;]+)\2/g;
const DIRECTIVE = /^#\s*([a-zA-Z][a-zA-Z0-9]*)\s*=\s*(.*?)\s*$/;

/**
 * Directives as BuildKit reads them: `# name=value` lines at the very top; the first other line
 * (an empty one included) ends them. A directive given twice is an error.
 */
function readDirectives(lines: string[], file: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (let i = 0; i < lines.length; i++) {
    const text = (i === 0 ? lines[i]!.replace(/^\uFEFF/, '') : lines[i]!).trimStart();
    const m = DIRECTIVE.exec(text);
    if (!m) break;
    const name = m[1]!.toLowerCase();
    if (name in out) throw new DockerfileError(`only one ${name} parser directive can be used`, file, i + 1);
    out[name] = m[2]!;
  }
  return out;
}

/**
 * The heredocs the instruction's line opens, read as BuildKit reads them: from the line after
 * the instruction, each body up to a line equal to its name (after leading tabs for `<<-`).
 */
function heredocsOf(args: string, lines: string[], firstBodyLine: number, file: string, line: number): Heredoc[] {
  const out: Heredoc[] = [];
  let at = firstBodyLine;
  for (const m of args.matchAll(HEREDOC_START)) {
    const chomp = m[1] === '-';
    const name = m[3]!;
    let content = '';
    for (;;) {
      if (at >= lines.length) throw new DockerfileError(`unterminated heredoc ${name}`, file, line);
      const text = lines[at++]!;
      if ((chomp ? text.replace(/^\t+/, '') : text) === name) break;
      content += `${chomp ? text.replace(/^\t+/, '') : text}\n`;
    }
    out.push({ name, content, expand: m[2] === '', chomp });
  }
  return out;
}

/**
 * The instruction's arguments as BuildKit joins them: a line ending in the escape character
 * (trailing blanks allowed) continues on the next; comment lines and blank lines inside a
 * continuation are dropped; what follows the last line (heredoc bodies) is not part of it.
 */
function logicalLine(raw: string, escape: string): { text: string; lines: number } {
  const continued = new RegExp(`${escape === '\\' ? '\\\\' : escape}[ \t]*$`);
  let out = '';
  const lines = raw.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (i > 0 && (/^\s*#/.test(line) || line.trim() === '')) continue;
    if (!continued.test(line)) return { text: (out + line).trim(), lines: i + 1 };
    out += line.replace(continued, '');
  }
  return { text: out.trim(), lines: lines.length };
}

export function parseDockerfile(text: string, file = 'Dockerfile'): ParsedDockerfile {
  const normalised = text.replace(/^\uFEFF/, '').replace(/\r\n/g, '\n');
  const lines = normalised.split('\n');
  const directives = readDirectives(lines, file);
  const escapeValue = directives['escape'] ?? '\\';
  if (escapeValue !== '\\' && escapeValue !== '`') {
    throw new DockerfileError(`invalid ESCAPE '${escapeValue}'. Must be \` or \\`, file, 1);
  }
  const escape = escapeValue;
  const document = DockerfileParser.parse(normalised);
  const instructions: RawInstruction[] = [];
  for (const ins of document.getInstructions()) {
    const range = ins.getRange();
    const keyword = ins.getKeyword();
    const canHeredoc = HEREDOC_KEYWORDS.has(keyword);
    // The text after the keyword (dockerfile-ast's own argument text leaves flags out).
    const after = ins.getInstructionRange().end;
    const raw = [lines[after.line]!.slice(after.character), ...lines.slice(after.line + 1, range.end.line + 1)].join('\n');
    const logical = logicalLine(raw, escape);
    const args = logical.text;
    instructions.push({
      keyword,
      line: range.start.line + 1,
      endLine: range.end.line + 1,
      args,
      heredocs: canHeredoc ? heredocsOf(args, lines, range.start.line + logical.lines, file, range.start.line + 1) : [],
    });
  }
  return { file, escape, directives, instructions };
}
