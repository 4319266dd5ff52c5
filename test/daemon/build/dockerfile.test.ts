/**
 * The Dockerfile front end without an engine: structure (directives, continuations, heredocs),
 * word processing, instruction arguments and their errors, stages and what each stage asks the
 * executor to do. config-buildkit.test.ts compares the configs with dockerd's BuildKit.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { evaluateDockerfile, goDuration, type EvaluateOptions, type Step } from '../../../src/daemon/build/dockerfile/evaluate.js';
import { DockerfileError } from '../../../src/daemon/build/dockerfile/errors.js';
import { interpretAll } from '../../../src/daemon/build/dockerfile/instructions.js';
import { processWord, processWords } from '../../../src/daemon/build/dockerfile/lex.js';
import { parseDockerfile } from '../../../src/daemon/build/dockerfile/parse.js';
import { splitWords } from '../../../src/daemon/build/dockerfile/words.js';

const options = (extra: Partial<EvaluateOptions> = {}): EvaluateOptions => ({
  buildArgs: {},
  platform: { os: 'linux', architecture: 'amd64' },
  baseImage: async (ref) => ({ config: { Env: ['PATH=/bin'], Cmd: [`from-${ref}`] } }),
  ...extra,
});

test('directives: escape and syntax at the top only; an empty line ends them', () => {
  assert.equal(parseDockerfile('# escape=`\nFROM a\n').escape, '`');
  assert.equal(parseDockerfile('\uFEFF#escape = `\r\nFROM a\r\n').escape, '`');
  assert.equal(parseDockerfile('\n# escape=`\nFROM a\n').escape, '\\');
  assert.equal(parseDockerfile('FROM a\n# escape=`\n').escape, '\\');
  assert.deepEqual(parseDockerfile('# syntax=docker/dockerfile:1\n# escape=\\\nFROM a\n').directives, { syntax: 'docker/dockerfile:1', escape: '\\' });
  assert.throws(() => parseDockerfile('# escape=x\nFROM a\n'), /invalid ESCAPE 'x'/);
  assert.throws(() => parseDockerfile('# escape=`\n# escape=\\\nFROM a\n'), (e) => e instanceof DockerfileError && e.line === 2);
});

test('continuations join lines; comment and empty lines inside them are dropped; lines are counted', () => {
  const d = parseDockerfile('FROM a\nRUN echo one \\\n# comment\n\n   two \\  \n  three\n  run --network=none  echo x\n');
  assert.deepEqual(
    d.instructions.map((i) => [i.keyword, i.line, i.endLine, i.args]),
    [
      ['FROM', 1, 1, 'a'],
      ['RUN', 2, 6, 'echo one    two   three'],
      ['RUN', 7, 7, '--network=none  echo x'],
    ],
  );
  const tick = parseDockerfile('# escape=`\nFROM a\nRUN dir c:\\ `\n  && echo\n');
  assert.equal(tick.instructions[1]!.args, 'dir c:\\   && echo');
});

test('heredocs: bodies raw, <<- strips tabs, quoted names are not expanded, several per line', () => {
  const d = parseDockerfile('FROM a\nRUN <<EOF\necho $HOME \\\n# kept\nEOF\nCOPY <<-"END" /f\n\tline\n\tEND\nRUN <<A cat - <<B > /out\na\nA\nb\nB\nRUN echo after\n');
  const [, run, copy, two, after] = d.instructions;
  assert.deepEqual(run!.heredocs, [{ name: 'EOF', content: 'echo $HOME \\\n# kept\n', expand: true, chomp: false }]);
  assert.equal(run!.args, '<<EOF');
  assert.deepEqual(copy!.heredocs, [{ name: 'END', content: 'line\n', expand: false, chomp: true }]);
  assert.deepEqual(two!.heredocs.map((h) => [h.name, h.content]), [['A', 'a\n'], ['B', 'b\n']]);
  assert.equal(after!.line, 14);
  assert.deepEqual(after!.heredocs, []);
});

test('word processing: quotes, escapes, the expansion forms BuildKit 0.8 has', () => {
  const env = new Map([['SET', 'value'], ['EMPTY', ''], ['SP', 'a  b']]);
  const get = (n: string) => env.get(n);
  const cases: [string, string][] = [
    ['$SET', 'value'], ['${SET}', 'value'], ['${UNSET}', ''], ['${SET:-d}', 'value'], ['${EMPTY:-d}', 'd'], ['${UNSET:-d}', 'd'],
    ['${SET:+alt}', 'alt'], ['${EMPTY:+alt}', ''], ['${UNSET:+alt}', ''], ['"a $SET"', 'a value'], ["'a $SET'", 'a $SET'],
    ['a\\ b', 'a b'], ['\\$SET', '$SET'], ['$', '$'], ['a$', 'a$'], ['${UNSET:-${SET}}', 'value'], ['"q\\"d"', 'q"d'],
    ['"back\\\\slash"', 'back\\slash'], ['"keep\\n"', 'keep\\n'], ['$1x', 'x'], ['end\\', 'end'],
  ];
  for (const [input, want] of cases) assert.equal(processWord(input, get), want, input);
  assert.equal(processWord('`$SET', get, '`'), '$SET');
  assert.deepEqual(processWords('$SP "c  d" e\\ f', get), ['a', 'b', 'c  d', 'e f']);
  assert.throws(() => processWord('${UNSET-d}', get), /missing ':' in substitution/);
  assert.throws(() => processWord('${SET#v}', get), /missing ':' in substitution/);
  assert.throws(() => processWord('${UNSET:?must be set}', get), /UNSET: must be set/);
  assert.throws(() => processWord('${EMPTY:?}', get), /EMPTY: is not allowed to be empty/);
  assert.throws(() => processWord('"open', get), /matching double-quote/);
  assert.throws(() => processWord('${SET', get), /missing ':' in substitution/);
  assert.throws(() => processWord('${}', get), /bad substitution/);
});

test('words before expansion keep their quotes', () => {
  assert.deepEqual(splitWords('A="x y" B=\'p q\' C=z\\ w D=', '\\'), ['A="x y"', "B='p q'", 'C=z\\ w', 'D=']);
});

test('instructions: forms, flags and the errors BuildKit gives, located', async () => {
  const ins = interpretAll(parseDockerfile('FROM --platform=linux/amd64 a AS Build\nCMD ["x", "y"]\nCMD [\'x\']\nCOPY --from=build --chown=1:2 --chmod=640 a b /d/\nRUN --mount=type=cache,target=/c --mount=type=secret,id=s echo\nENV A B C\n'));
  assert.deepEqual(ins[0], { line: 1, text: 'FROM --platform=linux/amd64 a AS Build', kind: 'FROM', image: 'a', stage: 'build', platform: 'linux/amd64' });
  assert.deepEqual((ins[1] as { command: unknown }).command, { exec: true, argv: ['x', 'y'] });
  assert.deepEqual((ins[2] as { command: unknown }).command, { exec: false, text: "['x']" });
  assert.deepEqual(ins[3], { line: 4, text: 'COPY --from=build --chown=1:2 --chmod=640 a b /d/', kind: 'COPY', sources: ['a', 'b'], dest: '/d/', from: 'build', chown: '1:2', chmod: '640', heredocs: [], exec: false });
  assert.deepEqual((ins[4] as { mounts: unknown }).mounts, [
    { type: 'cache', target: '/c', options: { type: 'cache', target: '/c' } },
    { type: 'secret', target: '', options: { type: 'secret', id: 's' } },
  ]);
  assert.deepEqual((ins[5] as { pairs: unknown }).pairs, [['A', 'B C']]);
  const refused: [string, RegExp, number][] = [
    ['FROM a\nCOPY x\n', /COPY requires at least two arguments, but only one was provided/, 2],
    ['FROM a\n\nCOPY --bogus=1 x y\n', /unknown flag: bogus/, 3],
    ['FROM a\nSHELL sh -c\n', /SHELL requires the arguments to be in JSON form/, 2],
    ['FROM a\nONBUILD ONBUILD RUN x\n', /isn't allowed/, 2],
    ['FROM a b\n', /FROM requires either one or three arguments/, 1],
    ['FROM a AS 1x\n', /invalid name for build stage/, 1],
    ['FROM a\nHEALTHCHECK --interval=1 CMD x\n', /time: missing unit in duration "1"/, 2],
    ['FROM a\nHEALTHCHECK --timeout=abc CMD x\n', /time: invalid duration "abc"/, 2],
    ['FROM a\nRUN --mount=type=nfs,target=/x y\n', /unsupported mount type/, 2],
  ];
  for (const [text, message, line] of refused) {
    await assert.rejects(
      async () => evaluateDockerfile(parseDockerfile(text), options()),
      (e: unknown) => e instanceof DockerfileError && message.test(e.message) && e.line === line,
      text,
    );
  }
  assert.equal(goDuration('1m30s'), 90e9);
  assert.equal(goDuration('1.5ms'), 1.5e6);
});

test('stages: bases, --from by name and index, targets, skipped stages, steps', async () => {
  const text = `ARG TAG=1
FROM img:$TAG AS base
WORKDIR /src
COPY --chown=\${OWNER:-0}:0 a* ./
RUN make
FROM base AS test
RUN false
FROM scratch
ARG OWNER=5
COPY --from=0 /src/out /bin/
COPY --from=base --chmod=755 /x .
COPY --from=other:image /y /z
ENV DONE=1
`;
  const seen: string[] = [];
  const ev = await evaluateDockerfile(parseDockerfile(text), options({ buildArgs: { TAG: '2', UNUSED: 'x' }, baseImage: async (ref) => (seen.push(ref), { config: { Env: ['PATH=/bin'] } }) }));
  assert.deepEqual(seen, ['img:2'], 'only the image of a needed stage is looked up');
  assert.deepEqual([...ev.stages.keys()].sort(), [0, 2], 'the test stage is skipped');
  assert.deepEqual(ev.unusedArgs, ['UNUSED']);
  const strip = (s: Step) => {
    const { line, text: _t, ...rest } = s;
    void _t;
    return { line, ...rest };
  };
  assert.deepEqual(ev.stages.get(0)!.steps.map(strip), [
    { line: 3, kind: 'mkdir', path: '/src', user: '' },
    { line: 4, kind: 'copy', add: false, from: { context: true }, sources: ['a*'], dest: '/src/', heredocs: [], chown: '0:0' },
    { line: 5, kind: 'run', argv: ['/bin/sh', '-c', 'make'], env: ['PATH=/bin'], user: '', workdir: '/src', mounts: [], network: 'default', heredocs: [] },
  ]);
  assert.deepEqual(ev.stages.get(2)!.steps.map((s) => (s.kind === 'copy' ? [s.from, s.sources, s.dest, s.chmod] : s.kind)), [
    [{ stage: 0 }, ['/src/out'], '/bin/', undefined],
    [{ stage: 0 }, ['/x'], '/', 0o755],
    [{ image: 'other:image' }, ['/y'], '/z', undefined],
  ]);
  // BuildKit 0.8 lets --from name a later stage; a stage needing itself is a cycle.
  const later = await evaluateDockerfile(parseDockerfile('FROM a AS one\nCOPY --from=1 x y\nFROM b\n'), options({ target: 'one' }));
  assert.deepEqual([...later.stages.keys()].sort(), [0, 1]);
  await assert.rejects(
    evaluateDockerfile(parseDockerfile('FROM a AS one\nCOPY --from=two x y\nFROM b AS two\nCOPY --from=one x y\n'), options()),
    (e: unknown) => e instanceof DockerfileError && /circular dependency detected on stage: two/.test(e.message),
  );
  await assert.rejects(evaluateDockerfile(parseDockerfile('# only a comment\n'), options()), /file with no instructions/);
});

test('RUN: environment from ENV and ARG in order, proxy build args, heredoc scripts', async () => {
  const text = 'FROM a\nENV X=env\nARG X=arg\nARG Y\nSHELL ["/bin/bash", "-c"]\nRUN <<EOF\necho $X\nEOF\nRUN cat <<EOF >/f\nbody\nEOF\nUSER app\nRUN ["/bin/true"]\n';
  const ev = await evaluateDockerfile(parseDockerfile(text), options({ buildArgs: { Y: 'y', http_proxy: 'http://p:3128' } }));
  const runs = ev.stages.get(0)!.steps.filter((s) => s.kind === 'run');
  assert.deepEqual(runs.map((r) => r.argv), [['/bin/bash', '-c', 'echo $X\n'], ['/bin/bash', '-c', 'cat <<EOF >/f\nbody\nEOF\n'], ['/bin/true']]);
  assert.deepEqual(runs[0]!.env, ['PATH=/bin', 'X=arg', 'Y=y', 'http_proxy=http://p:3128']);
  assert.equal(runs[2]!.user, 'app');
  assert.deepEqual(ev.stages.get(0)!.config.Env, ['PATH=/bin', 'X=env']);
  assert.deepEqual(ev.unusedArgs, []);
});

test('RUN <<EOF with a shebang: the body becomes /dev/pipes/EOF, run by the shell; without one, or beside a command, it stays shell text', async () => {
  const text = 'FROM a\nRUN <<EOF\n#!/usr/bin/env python3\nprint("$HOME")\nEOF\nRUN <<-"END"\n\t#!/bin/sh -e\n\techo hi\n\tEND\nRUN <<EOF\n echo no shebang\nEOF\nRUN python3 <<EOF\n#!/x\nEOF\n';
  const runs = (await evaluateDockerfile(parseDockerfile(text), options())).stages.get(0)!.steps.filter((s) => s.kind === 'run');
  assert.deepEqual(runs.map((r) => r.argv), [['/bin/sh', '-c', '/dev/pipes/EOF'], ['/bin/sh', '-c', '/dev/pipes/END'], ['/bin/sh', '-c', ' echo no shebang\n'], ['/bin/sh', '-c', 'python3 <<EOF\n#!/x\nEOF\n']]);
  assert.deepEqual(runs.map((r) => r.script), [{ name: 'EOF', content: '#!/usr/bin/env python3\nprint("$HOME")\n' }, { name: 'END', content: '#!/bin/sh -e\necho hi\n' }, undefined, undefined]);
});

test('FROM --platform: the own platform (also through $BUILDPLATFORM) is built, another is refused at its line', async () => {
  const ok = await evaluateDockerfile(parseDockerfile('FROM --platform=$BUILDPLATFORM a AS one\nFROM --platform=linux/amd64 one\n'), options());
  assert.equal(ok.stages.size, 2);
  await assert.rejects(
    evaluateDockerfile(parseDockerfile('ARG P=linux/arm64\nFROM a\nFROM --platform=$P b\n'), options()),
    (e) => e instanceof DockerfileError && e.line === 3 && /platform linux\/arm64 is not supported: the embedded engine builds for linux\/amd64 only/.test(e.message),
  );
});
