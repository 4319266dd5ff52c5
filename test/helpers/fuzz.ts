/**
 * The fuzz generator shared by the compiler's in-process fuzz test and the CLI's: seeded (so a
 * failure names the seed that reproduces it), mutating real Compose files as text and as trees,
 * plus random documents.
 */
import { dump, load as loadYamlLoose } from 'js-yaml';

/** mulberry32: a small deterministic PRNG. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export const SEEDS = [
  `version: "3.8"
x-common: &common
  restart: unless-stopped
  environment: &env
    LOG: "\${LOG_LEVEL:-info}"
services:
  web:
    <<: *common
    image: "nginx:\${TAG-1.25}"
    build:
      context: ./ctx
      args: [A=1, B]
    ports: ["8080:80", "127.0.0.1:9000-9001:9000-9001/udp", {target: 443, published: 8443}]
    volumes: ["./site:/usr/share/nginx/html:ro", "data:/data", {type: bind, source: ./x, target: /x}]
    depends_on:
      db: {condition: service_healthy}
    networks:
      front: {aliases: [www]}
    healthcheck: {test: ["CMD", "true"], interval: 1m30s, retries: 3}
    env_file: [a.env]
    labels: {a: 1, b: true}
    ulimits: {nofile: {soft: 10, hard: 20}}
  db:
    image: postgres
    environment: *env
    secrets: [pw]
    deploy: {replicas: 2, resources: {limits: {cpus: "0.5", memory: 50M}}}
volumes:
  data: {}
networks:
  front: {}
secrets:
  pw: {file: ./pw.txt}
`,
  `db:
  image: busybox
  volumes_from: [data]
  log_driver: syslog
data:
  image: busybox
  net: "container:db"
web:
  build: .
  links: ["db:database"]
  external_links: [other]
  dockerfile: Dockerfile.dev
`,
  `services:
  a:
    extends: {file: base.yml, service: base}
    command: sh -c 'echo $$HOME'
  b:
    extends: a
    network_mode: "service:a"
    pid: "service:a"
    ipc: host
`,
];

const ATOMS: unknown[] = [
  null, '', 0, -1, 1.5, 65536, true, 'yes', '${X', '$', '${A:?}', '$${A}', '../../etc', '~', '80:80:80', '1:2:3:4',
  '0.0.0.0::80', 'a b', 'service:nope', 'container:x', '1e999', {}, [], [null], [[]], { a: { b: { c: [1, { d: null }] } } },
  ['x=1', 'y'], { '<<': 1 }, 'NONE', 'x'.repeat(300),
  // Hostile values: names Object.prototype has, a newline, a named pipe and a device (made by the
  // CLI test), nested templates, numbers out of range.
  '__proto__', 'constructor', 'a\nb', 'fifo', '/dev/zero', '${A:-${B:-${C:-x}}}', 'service:web', -1e12, 1e12,
];

export function pick<T>(rand: () => number, list: readonly T[]): T {
  return list[Math.floor(rand() * list.length)] as T;
}

function mutateText(text: string, rand: () => number): string {
  const lines = text.split('\n');
  const ops = 1 + Math.floor(rand() * 4);
  let out = text;
  for (let i = 0; i < ops; i++) {
    const kind = Math.floor(rand() * 7);
    const at = Math.floor(rand() * out.length);
    if (kind === 0) out = out.slice(0, at) + out.slice(at + 1 + Math.floor(rand() * 20));
    else if (kind === 1) out = out.slice(0, at) + pick(rand, [':', '-', '{', '}', '[', ']', '&a', '*a', '"', "'", '\t', '\n', '  ', '#', '!!', '<<: ', '$', '${']) + out.slice(at);
    else if (kind === 2) out = out.slice(0, at) + String.fromCharCode(Math.floor(rand() * 0x3000)) + out.slice(at);
    else if (kind === 3) {
      const l = Math.floor(rand() * lines.length);
      lines.splice(l, 0, lines[Math.floor(rand() * lines.length)] ?? '');
      out = lines.join('\n');
    } else if (kind === 4) {
      const l = Math.floor(rand() * lines.length);
      lines.splice(l, 1);
      out = lines.join('\n');
    } else if (kind === 5) out = out.replace(/  /g, rand() < 0.5 ? ' ' : '   ');
    else out = out.slice(0, at);
  }
  return out;
}

/** Structural mutation: parse the seed loosely and replace, drop or add values at random paths. */
function mutateTree(value: unknown, rand: () => number, depth = 0): unknown {
  if (rand() < 0.08 || depth > 6) return pick(rand, ATOMS);
  if (Array.isArray(value)) {
    const out = value.map((v) => (rand() < 0.3 ? mutateTree(v, rand, depth + 1) : v));
    if (rand() < 0.2) out.push(pick(rand, ATOMS));
    return out;
  }
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) {
      if (rand() < 0.05) continue;
      out[rand() < 0.03 ? pick(rand, ['x-ext', 'bogus', '1', 'version', 'services', k.toUpperCase()]) : k] =
        rand() < 0.3 ? mutateTree(v, rand, depth + 1) : v;
    }
    if (rand() < 0.1) out[pick(rand, ['image', 'ports', 'volumes', 'extends', 'depends_on', 'networks', 'x-y', 'env_file', 'scale', 'mem_limit', 'cpus', 'links', 'network_mode', '__proto__'])] = pick(rand, ATOMS);
    return out;
  }
  return rand() < 0.3 ? pick(rand, ATOMS) : value;
}

function randomDocument(rand: () => number, depth = 0): unknown {
  const r = rand();
  if (depth > 4 || r < 0.4) return pick(rand, ATOMS);
  if (r < 0.7) {
    const out: Record<string, unknown> = {};
    const n = Math.floor(rand() * 5);
    for (let i = 0; i < n; i++) out[pick(rand, ['services', 'version', 'web', 'image', 'ports', 'build', 'x-a', 'volumes', 'networks', 'a'])] = randomDocument(rand, depth + 1);
    return out;
  }
  return Array.from({ length: Math.floor(rand() * 4) }, () => randomDocument(rand, depth + 1));
}

function safeDump(v: unknown): string {
  try {
    return dump(v, { lineWidth: -1 });
  } catch {
    return String(v);
  }
}

export function documents(seed: number, count: number, seeds: readonly string[] = SEEDS): string[] {
  const rand = prng(seed);
  const docs: string[] = [];
  for (let i = 0; i < count; i++) {
    const base = pick(rand, seeds);
    const kind = rand();
    if (kind < 0.45) docs.push(mutateText(base, rand));
    else if (kind < 0.85) {
      const loose = (() => {
        try {
          return JSON.parse(JSON.stringify(parseLoose(base)));
        } catch {
          return {};
        }
      })();
      docs.push(safeDump(mutateTree(loose, rand)));
    } else docs.push(safeDump(randomDocument(rand)));
  }
  return docs;
}

function parseLoose(text: string): unknown {
  // The seeds are valid YAML; aliases are expanded by dumping them through js-yaml's loader.
  return JSON.parse(JSON.stringify(loadYamlLoose(text)));
}


export const SUPPORT_FILES = {
  'a.env': 'A=1\nB=${A}\n',
  'pw.txt': 'secret\n',
  'base.yml': 'services:\n  base:\n    image: busybox\n    volumes: ["./d:/d"]\n',
  'ctx/Dockerfile': 'FROM scratch\n',
  '.env': 'TAG=1\n',
};

