// Golden `config` output for the Compose Specification keys a version-less file may now use.
// docker compose v2 is not installable here (no Docker CLI plugin package, no image registry): the
// expected document is written from the Compose Specification and compose-go's loader, as read in
// its source: schema/compose-spec.json for the shapes, paths/resolve.go and paths/context.go for
// the paths made absolute (build.additional_contexts unless `name://` or `service:`,
// develop.watch[].path, bind sources), loader/validate.go for depends_on. Where v2 prints a key
// differently and 1.29.2 prints the rest of the document, the 1.29.2 shape is kept for the rest
// (`version`, key order, healthcheck units) and the new keys print as written; those differences
// are listed in docs/compose-compatibility.md.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { load as parseYaml } from 'js-yaml';
import { assertCleanError, flotilla } from '../helpers/cli.js';
import { projectDir } from '../helpers/tmp.js';

const FIXTURE = "services:\n  web:\n    image: nginx\n    depends_on:\n      db:\n        condition: service_healthy\n        restart: true\n        required: false\n    healthcheck:\n      test: [\"CMD\", \"true\"]\n      interval: 30s\n      start_interval: 2s\n    post_start:\n      - command: [\"sh\", \"-c\", \"echo started\"]\n        user: root\n        privileged: true\n        working_dir: /tmp\n        environment: [A=1]\n    pre_stop:\n      - command: echo bye\n    develop:\n      watch:\n        - path: ./src\n          action: sync\n          target: /app/src\n          ignore: [node_modules/]\n          initial_sync: true\n    gpus: all\n    models: [llm]\n    deploy:\n      resources:\n        limits:\n          pids: 100\n    volumes:\n      - type: bind\n        source: ./data\n        target: /data\n        bind:\n          create_host_path: true\n      - type: volume\n        source: vol\n        target: /vol\n        volume:\n          subpath: sub/dir\n  db:\n    image: postgres\n    provider:\n      type: model\n      options:\n        model: ai/llama\n  app:\n    build:\n      context: .\n      dockerfile_inline: |\n        FROM busybox\n      secrets: [tok]\n      ssh: [default]\n      additional_contexts:\n        base: ./base\n        img: docker-image://busybox\n      platforms: [linux/amd64]\n      tags: [app:extra]\n      no_cache: true\n      pull: true\n    gpus:\n      - driver: nvidia\n        count: 1\n        capabilities: [gpu]\nvolumes:\n  vol: {}\nsecrets:\n  tok:\n    environment: TOKEN\nconfigs:\n  inline:\n    content: |\n      hello ${NAME:-x}\n  fromenv:\n    environment: NAME\nmodels:\n  llm:\n    model: ai/smollm2\n    context_size: 1024\n";

const EXPECTED = "configs:\n  fromenv:\n    environment: NAME\n  inline:\n    content: \"hello x\\n\"\nmodels:\n  llm:\n    context_size: 1024\n    model: ai/smollm2\nsecrets:\n  tok:\n    environment: TOKEN\nservices:\n  app:\n    build:\n      additional_contexts:\n        base: ${DIR}/base\n        img: docker-image://busybox\n      context: ${DIR}\n      dockerfile_inline: \"FROM busybox\\n\"\n      no_cache: true\n      platforms:\n      - linux/amd64\n      pull: true\n      secrets:\n      - source: tok\n      ssh:\n      - default\n      tags:\n      - app:extra\n    gpus:\n    - capabilities:\n      - gpu\n      count: 1\n      driver: nvidia\n  db:\n    image: postgres\n    provider:\n      options:\n        model: ai/llama\n      type: model\n  web:\n    depends_on:\n      db:\n        condition: service_healthy\n        required: false\n        restart: true\n    deploy:\n      resources:\n        limits:\n          pids: 100\n    develop:\n      watch:\n      - action: sync\n        ignore:\n        - node_modules/\n        initial_sync: true\n        path: ${DIR}/src\n        target: /app/src\n    gpus: all\n    healthcheck:\n      interval: 30s\n      start_interval: 2s\n      test:\n      - CMD\n      - \"true\"\n    image: nginx\n    models:\n    - llm\n    post_start:\n    - command:\n      - sh\n      - \"-c\"\n      - echo started\n      environment:\n      - A=1\n      privileged: true\n      user: root\n      working_dir: /tmp\n    pre_stop:\n    - command: echo bye\n    volumes:\n    - bind:\n        create_host_path: true\n      source: ${DIR}/data\n      target: /data\n      type: bind\n    - source: vol\n      target: /vol\n      type: volume\n      volume:\n        subpath: sub/dir\nversion: \"3.9\"\nvolumes:\n  vol: {}\n";

test('config prints every Compose Specification key of the fixture as Compose v2 resolves it', (t) => {
  const dir = projectDir(t, { 'compose.yaml': FIXTURE });
  const r = flotilla(['config'], { cwd: dir, env: {} });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout, EXPECTED.replaceAll('${DIR}', dir));
  const json = JSON.parse(flotilla(['config', '--format', 'json'], { cwd: dir, env: {} }).stdout);
  assert.deepEqual(json, parseYaml(r.stdout));
});

test('the new keys are version-less only: a "3.8" file keeps docker-compose 1.29.2\'s refusal', (t) => {
  const dir = projectDir(t, {
    'compose.yaml': 'version: "3.8"\nservices:\n  web:\n    image: x\n    gpus: all\n',
    'hc.yaml': 'version: "2.4"\nservices:\n  web:\n    image: x\n    healthcheck:\n      start_interval: 1s\n',
  });
  assertCleanError(flotilla(['config'], { cwd: dir }), /^ERROR: compose\.yaml:5:5: services\.web\.gpus: unsupported key 'gpus'/);
  assertCleanError(flotilla(['-f', 'hc.yaml', 'config'], { cwd: dir }), /^ERROR: hc\.yaml:6:7: services\.web\.healthcheck\.start_interval: unsupported key/);
});

test('bad values of the new keys are located errors', (t) => {
  const dir = projectDir(t, {
    'watch.yaml': 'services:\n  web:\n    image: x\n    develop:\n      watch:\n        - path: ./src\n          action: copy\n',
    'hook.yaml': 'services:\n  web:\n    image: x\n    post_start:\n      - user: root\n',
    'start.yaml': 'services:\n  web:\n    image: x\n    healthcheck:\n      start_interval: soon\n',
    'model.yaml': 'services:\n  web:\n    image: x\nmodels:\n  llm:\n    context_size: 5\n',
  });
  assertCleanError(flotilla(['-f', 'watch.yaml', 'config'], { cwd: dir }), /^ERROR: watch\.yaml:7:\d+: services\.web\.develop\.watch\[0\]\.action: /);
  assertCleanError(flotilla(['-f', 'hook.yaml', 'config'], { cwd: dir }), /^ERROR: hook\.yaml:5:\d+: services\.web\.post_start\[0\].*command/);
  assertCleanError(flotilla(['-f', 'start.yaml', 'config'], { cwd: dir }), /^ERROR: start\.yaml:5:\d+: services\.web\.healthcheck\.start_interval: "soon" is not a valid duration/);
  assertCleanError(flotilla(['-f', 'model.yaml', 'config'], { cwd: dir }), /^ERROR: model\.yaml:5:\d+: models\.llm.*model/);
});

test('build keys in their short forms print as compose-go makes them canonical: long secrets, contexts as a mapping', (t) => {
  const dir = projectDir(t, {
    'compose.yaml': 'services:\n  app:\n    build:\n      context: .\n      secrets:\n        - tok\n        - source: other\n          target: renamed\n      additional_contexts:\n        - base=./base\n        - img=docker-image://busybox\n    image: x\nsecrets:\n  tok:\n    file: ./t.txt\n  other:\n    environment: OTHER\n',
  });
  const r = flotilla(['config'], { cwd: dir, env: {} });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(
    r.stdout,
    `secrets:\n  other:\n    environment: OTHER\n  tok:\n    file: ${dir}/t.txt\nservices:\n  app:\n    build:\n      additional_contexts:\n        base: ${dir}/base\n        img: docker-image://busybox\n      context: ${dir}\n      secrets:\n      - source: tok\n      - source: other\n        target: renamed\n    image: x\nversion: "3.9"\n`,
  );
});
