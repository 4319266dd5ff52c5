/** Compose files read as `docker stack deploy` reads them (src/compose/stack-dialect.ts). */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { loadProject } from '../../src/compose/load.js';
import { Diagnostics } from '../../src/diagnostics.js';
import { ConfigError, ErrorList } from '../../src/errors.js';
import { projectDir } from '../helpers/tmp.js';

function load(dir: string, files: string[], shell: Record<string, string> = {}, envFile?: string) {
  const diagnostics = new Diagnostics();
  const options: Parameters<typeof loadProject>[0] = { cwd: dir, shell, files, dialect: 'stack', dotenv: false, checkBuildContext: false };
  if (envFile) options.envFile = envFile;
  return { loaded: loadProject(options, diagnostics), diagnostics };
}

function errorsOf(fn: () => unknown): string[] {
  try {
    fn();
  } catch (e) {
    const list = e instanceof ErrorList ? e.errors : [e];
    return list.map((x) => (x instanceof ConfigError ? `${x.location?.line}:${x.location?.path}: ${x.message}` : String(x)));
  }
  return [];
}

test('forbidden keys are refused, all at once, with the line and the key and what to do instead', (t) => {
  const dir = projectDir(t, {
    'stack.yml': 'version: "3.8"\nservices:\n  web:\n    image: x\n    mem_limit: 1g\n    volumes_from: [db]\n  db:\n    image: y\n    cpu_shares: 2\n',
  });
  assert.deepEqual(errorsOf(() => load(dir, ['stack.yml'])), [
    '5:services.web.mem_limit: "mem_limit" is not supported by stack deploy: set resource limits with deploy.resources',
    '6:services.web.volumes_from: "volumes_from" is not supported by stack deploy: to share a volume between services, define it under the top-level "volumes" and mount it in each',
    '9:services.db.cpu_shares: "cpu_shares" is not supported by stack deploy: set resource limits with deploy.resources',
  ]);
});

test('keys Docker ignores are warned about where they are written; restart is not (it is used)', (t) => {
  const dir = projectDir(t, {
    'stack.yml': 'version: "3.9"\nservices:\n  web:\n    image: x\n    build: .\n    links: [db]\n    container_name: w\n    tmpfs: /run\n    restart: always\n  db:\n    image: y\n',
  });
  const { diagnostics } = load(dir, ['stack.yml']);
  assert.deepEqual(
    diagnostics.warnings.map((w) => `${w.location?.line}:${w.location?.path}: ${w.message}`),
    [
      '5:services.web.build: ignoring unsupported option "build" (stack deploy does not support it)',
      '6:services.web.links: ignoring unsupported option "links" (stack deploy does not support it)',
      '7:services.web.container_name: ignoring deprecated option "container_name": setting the container name is not supported',
      '8:services.web.tmpfs: ignoring "tmpfs" (docker stack deploy ignores it too): mount a volume of type tmpfs instead',
    ],
  );
});

test('only format 3: v2 and v1 files are refused; no version is 3.13 (keys of the Compose Specification refused)', (t) => {
  const dir = projectDir(t, {
    'v2.yml': 'version: "2.4"\nservices:\n  web:\n    image: x\n',
    'v1.yml': 'web:\n  image: x\n',
    'spec.yml': 'services:\n  web:\n    image: x\n    profiles: [debug]\n',
    'new.yml': 'services:\n  web:\n    image: x\n    oom_score_adj: 100\n    healthcheck:\n      start_interval: 1s\n    networks:\n      n:\n        driver_opts: {a: "1"}\nnetworks:\n  n: {}\n',
  });
  assert.deepEqual(errorsOf(() => load(dir, ['v2.yml'])), ['1:version: version "2.4" is not supported by stack deploy: a stack file declares version 3.0 to 3.13, or none']);
  assert.match(errorsOf(() => load(dir, ['v1.yml']))[0] ?? '', /a stack file defines its services under a top-level "services"/);
  assert.match(errorsOf(() => load(dir, ['spec.yml']))[0] ?? '', /^4:services\.web\.profiles: /);
  assert.equal(load(dir, ['new.yml']).loaded.project.services[0]?.name, 'web');
});

test('files merged must have one version (none counts as 3.13)', (t) => {
  const dir = projectDir(t, {
    'a.yml': 'version: "3.8"\nservices:\n  web:\n    image: x\n',
    'b.yml': 'version: "3.9"\nservices:\n  web:\n    image: y\n',
    'c.yml': 'services:\n  web:\n    image: z\n',
    'd.yml': 'version: "3.13"\nservices:\n  web:\n    image: w\n',
  });
  assert.match(errorsOf(() => load(dir, ['a.yml', 'b.yml']))[0] ?? '', /^1:version: version mismatch: .*a\.yml is version 3\.8 but .*b\.yml is version 3\.9/);
  assert.equal(load(dir, ['c.yml', 'd.yml']).loaded.project.services[0]?.image, 'w');
});

test('no .env is read unless --env-file names one; the shell interpolates', (t) => {
  const dir = projectDir(t, {
    'stack.yml': 'version: "3.8"\nservices:\n  web:\n    image: "busybox:${TAG:-none}"\n',
    '.env': 'TAG=from-dotenv\n',
    'vars.env': 'TAG=from-env-file\n',
  });
  assert.equal(load(dir, ['stack.yml']).loaded.project.services[0]?.image, 'busybox:none');
  assert.equal(load(dir, ['stack.yml'], { TAG: 'shell' }).loaded.project.services[0]?.image, 'busybox:shell');
  assert.equal(load(dir, ['stack.yml'], {}, 'vars.env').loaded.project.services[0]?.image, 'busybox:from-env-file');
});
