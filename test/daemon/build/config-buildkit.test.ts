/**
 * The image config the Dockerfile front end works out, side by side with dockerd 20.10's BuildKit:
 * each Dockerfile below is built by `DOCKER_BUILDKIT=1 docker build` and evaluated by
 * evaluateDockerfile (from the same busybox base), and the config fields are compared one by one;
 * a Dockerfile BuildKit refuses must be refused with the same message.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { evaluateDockerfile } from '../../../src/daemon/build/dockerfile/evaluate.js';
import { DockerfileError } from '../../../src/daemon/build/dockerfile/errors.js';
import type { ContainerConfig } from '../../../src/daemon/build/dockerfile/image-config.js';
import { parseDockerfile } from '../../../src/daemon/build/dockerfile/parse.js';
import { buildkitBuild, buildkitBusybox, DOCKER, requireBuildkit } from '../../helpers/buildkit.js';
import { projectDir } from '../../helpers/tmp.js';

const FIELDS = ['Env', 'Cmd', 'Entrypoint', 'WorkingDir', 'User', 'ExposedPorts', 'Volumes', 'Labels', 'Healthcheck', 'StopSignal', 'Shell', 'OnBuild'] as const;

/** Docker writes "not set" as null, "", {} or []; those are one value here. */
function normal(config: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const f of FIELDS) {
    const v = config[f];
    if (v === null || v === undefined || v === '') continue;
    if (typeof v === 'object' && Object.keys(v as object).length === 0) continue;
    out[f] = v;
  }
  return out;
}

interface Case {
  name: string;
  dockerfile: string;
  args?: Record<string, string>;
  target?: string;
}

const CASES: Case[] = [
  {
    name: 'expansion forms',
    dockerfile: `ARG BASE
FROM \${BASE} AS base
ARG SET=value
ARG EMPTY=
ARG UNSET
ENV A=\${SET:-d} B=\${EMPTY:-d} C=\${UNSET:-d} D=\${SET:+alt} E=\${EMPTY:+alt} F=\${UNSET:+alt}
ENV G="quoted $SET" H='single $SET' I=esc\\$SET J=a\\ b K=\${SET}x L=$SET-y M="\${SET:-a b}" N=$ O=\${UNSET:-\${SET:-x}}
ENV P="q\\"d" Q=\\\\back R="tab\\there" S=$SET$SET T=\${SET}\${UNSET}end U="\${UNSET:-'kept'}" V=pre'$SET'post
ENV old form with "quoted" value
LABEL "k 1"="v 1" k2=$SET k3="\${UNSET:-dflt}" k4=
`,
  },
  {
    name: 'ARG and ENV order, build args, global args',
    dockerfile: `ARG BASE
ARG GLOBAL=global-default
ARG HIDDEN=not-seen
FROM $BASE
ENV X=env
ARG X=arg
ENV Y=$X
ARG Z=arg
ENV Z=env
ENV W=$Z
ARG GLOBAL
ENV G=$GLOBAL H=[$HIDDEN]
ARG FROMCLI=default
ENV F=$FROMCLI
ARG TARGETARCH
ENV ARCH=$TARGETARCH
`,
    args: { FROMCLI: 'from-cli', GLOBAL: 'global-cli' },
  },
  {
    name: 'every config instruction',
    dockerfile: `ARG BASE
FROM $BASE
ARG P=9000
ARG DIR=sub
WORKDIR /a
WORKDIR b
WORKDIR ../c/
WORKDIR $DIR
USER nobody:nogroup
EXPOSE 80 443/udp 8000-8002 $P/tcp
VOLUME ["/data", "/v2"]
VOLUME /x $DIR
STOPSIGNAL SIGINT
LABEL a=1 b="two words"
LABEL a=override
MAINTAINER someone <a@b.c>
SHELL ["/bin/sh", "-ec"]
CMD echo shell form with $P
HEALTHCHECK --interval=5s --timeout=3s --start-period=1m30s --retries=4 CMD wget -q -O- http://localhost/ || exit 1
ONBUILD RUN echo triggered
ONBUILD  COPY  . /app
`,
  },
  {
    name: 'ENTRYPOINT resets an inherited CMD; CMD after it is kept',
    dockerfile: `ARG BASE
FROM $BASE AS one
ENTRYPOINT ["/bin/echo", "x"]
FROM one AS two
CMD ["a", "b"]
FROM two
ENTRYPOINT /bin/true
HEALTHCHECK NONE
`,
  },
  {
    name: 'ONBUILD triggers run in the stage FROM it, then are dropped',
    dockerfile: `ARG BASE
FROM $BASE AS parent
ONBUILD ENV TRIGGERED=yes
ONBUILD LABEL from=trigger
ONBUILD WORKDIR /triggered
FROM parent
ENV AFTER=$TRIGGERED
`,
  },
  {
    name: 'target picks a stage; stages it does not need are skipped even when broken',
    dockerfile: `ARG BASE
FROM flotilla-no-such-image-ever:1 AS broken
ENV X=\${X:?never evaluated}
FROM $BASE AS wanted
ENV STAGE=wanted
FROM broken
`,
    target: 'wanted',
  },
  {
    name: 'scratch',
    dockerfile: `FROM scratch
ENV A=1
CMD ["/x"]
`,
  },
  {
    name: 'the escape directive',
    dockerfile: `# escape=\`
ARG BASE
FROM $BASE
ENV A=back\\slash B=tick\`$NOPE C="q\`"d" \`
    D=continued
WORKDIR c:\\dir
`,
  },
  {
    name: 'continuations, comments and empty lines inside them',
    dockerfile: `ARG BASE
FROM $BASE
ENV A=1 \\
# a comment inside
    B=2 \\

    C=3
LABEL x=y \\   
  z=w
  env lower=case
`,
  },
  { name: 'refused: ${x-y}', dockerfile: 'ARG BASE\nFROM $BASE\nARG X\nENV A=${X-y}\n' },
  { name: 'refused: ${x:?message}', dockerfile: 'ARG BASE\nFROM $BASE\nARG X\nENV A=${X:?X is required}\n' },
  { name: 'refused: unknown instruction', dockerfile: 'ARG BASE\nFROM $BASE\nRUN echo a\nECHO hi\n' },
  { name: 'refused: unterminated quote', dockerfile: 'ARG BASE\nFROM $BASE\nENV A="open\n' },
  { name: 'refused: instruction before FROM', dockerfile: 'ENV A=1\nFROM scratch\n' },
  { name: 'refused: unknown target', dockerfile: 'FROM scratch AS a\n', target: 'nope' },
  { name: 'refused: ENV without value', dockerfile: 'FROM scratch\nENV A\n' },
];

function inspectConfig(tag: string): ContainerConfig {
  const r = spawnSync(DOCKER, ['image', 'inspect', '--format', '{{json .Config}}', tag], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout) as ContainerConfig;
}

async function ours(text: string, base: string, c: Case): Promise<{ ok: true; config: ContainerConfig } | { ok: false; error: string }> {
  try {
    const ev = await evaluateDockerfile(parseDockerfile(text), {
      buildArgs: { BASE: base, ...c.args },
      ...(c.target ? { target: c.target } : {}),
      platform: { os: 'linux', architecture: 'amd64' },
      baseImage: async (ref) => {
        if (ref !== base) throw new DockerfileError(`no image ${ref}`, 'Dockerfile');
        return { config: inspectConfig(base) };
      },
    });
    return { ok: true, config: ev.stages.get(ev.target)!.config };
  } catch (e) {
    if (e instanceof DockerfileError) return { ok: false, error: e.message };
    throw e;
  }
}

async function compare(t: TestContext, base: string, c: Case): Promise<void> {
  const dir = projectDir(t, { Dockerfile: c.dockerfile });
  writeFileSync(join(dir, '.dockerignore'), '*\n');
  const theirs = buildkitBuild(t, dir, { args: { BASE: base, ...c.args }, ...(c.target ? { target: c.target } : {}) });
  const mine = await ours(c.dockerfile, base, c);
  if (!theirs.ok) {
    assert.equal(mine.ok, false, `BuildKit refused (${theirs.error}); we did not`);
    if (!mine.ok) assert.ok(theirs.error.includes(mine.error), `BuildKit: ${theirs.error}\nours: ${mine.error}`);
    return;
  }
  assert.ok(mine.ok, mine.ok ? '' : `we refused: ${mine.error}`);
  if (mine.ok) assert.deepEqual(normal(mine.config as Record<string, unknown>), normal(theirs.inspect.Config));
}

test('the image config equals BuildKit\'s, Dockerfile by Dockerfile', async (t) => {
  if (!requireBuildkit(t)) return;
  const base = buildkitBusybox(t);
  for (const c of CASES) await t.test(c.name, (tt) => compare(tt, base, c));
});
