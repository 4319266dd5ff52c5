// Benchmark: `flotilla config` against `docker-compose config` (Debian's docker-compose 1.29.2)
// on the same machine in the same run, on a small project and on a generated 500-service file.
// Prints each command's median wall time and the ratio flotilla / docker-compose.
//   node bench/config.mjs [--runs N]
// Targets (issue #2): small project <= 0.25, 500 services <= 0.15.
import { mkdtempSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { compare, printTable } from './lib.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));
// Run as users run it: the executable (bin/flotilla.js, with its code caches).
const flotilla = [join(root, 'bin', 'flotilla.js')];
const runsArg = process.argv.indexOf('--runs');
const runs = runsArg > 0 ? Number(process.argv[runsArg + 1]) : 11;

const SMALL = `services:
  db:
    image: postgres:15
    environment:
      POSTGRES_PASSWORD: \${DB_PASSWORD:-secret}
    volumes:
      - db-data:/var/lib/postgresql/data
    healthcheck:
      test: ["CMD", "pg_isready"]
      interval: 5s
      timeout: 3s
      retries: 5
  web:
    image: nginx:1.25
    ports:
      - "127.0.0.1:8080:80"
    volumes:
      - ./site:/usr/share/nginx/html:ro
    depends_on:
      db:
        condition: service_healthy
    networks:
      default:
        aliases: [www]
volumes:
  db-data: {}
`;

function bigProject(n) {
  let y = 'version: "3.8"\nservices:\n';
  for (let i = 0; i < n; i++) {
    const name = `svc${String(i).padStart(3, '0')}`;
    y += `  ${name}:
    image: registry.example.com/team/${name}:\${TAG:-1.0}
    command: ["sh", "-c", "echo ${name} && sleep 3600"]
    environment:
      SERVICE_NAME: ${name}
      LOG_LEVEL: \${LOG_LEVEL:-info}
      INDEX: "${i}"
    labels:
      com.example.team: platform
      com.example.index: "${i}"
    ports:
      - "${20000 + i}:8080"
    volumes:
      - ./data/${name}:/data
      - cache:/cache
    healthcheck:
      test: ["CMD", "sh", "-c", "exit 0"]
      interval: 10s
      timeout: 2s
      retries: 3
${i > 0 ? `    depends_on:\n      - svc${String(i - 1).padStart(3, '0')}\n` : ''}    networks: [back]
    restart: unless-stopped
`;
  }
  y += 'volumes:\n  cache: {}\nnetworks:\n  back: {}\n';
  return y;
}

const dir = mkdtempSync(join(tmpdir(), 'flotilla-bench-'));
try {
  mkdirSync(join(dir, 'small'));
  writeFileSync(join(dir, 'small', 'docker-compose.yml'), SMALL);
  mkdirSync(join(dir, 'big'));
  writeFileSync(join(dir, 'big', 'docker-compose.yml'), bigProject(500));

  const env = { PATH: process.env.PATH, HOME: dir, LANG: 'C.UTF-8' };
  for (const [title, cwd, n] of [
    ['config, small project (2 services)', join(dir, 'small'), runs],
    ['config, generated 500-service file', join(dir, 'big'), Math.max(5, Math.ceil(runs / 2))],
  ]) {
    const results = compare(
      [
        { name: 'flotilla config', argv: [...flotilla, 'config'] },
        { name: 'docker-compose config', argv: ['docker-compose', 'config'] },
      ],
      n,
      { cwd, env },
    );
    printTable(`${title}: medians of ${n} runs`, results, 'docker-compose config');
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
