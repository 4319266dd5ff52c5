/**
 * `flotilla image import|load|save|pull|push|ls|rm|...`: the embedded engine's own image store.
 * Images come from a registry (`pull`), a root filesystem tarball (`import`) or a `docker save` /
 * OCI archive (`load`), and go to a registry (`push`) or a `docker save` archive (`save`).
 */
import type { Command } from 'commander';
import { once } from 'node:events';
import { createReadStream, createWriteStream, existsSync, statSync } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { UsageError } from '../../errors.js';
import type { HistoryRow } from '../../daemon/images/details.js';
import { humanDuration } from '../../util/human-duration.js';
import { EngineError } from '../../contract/errors.js';
import type { DaemonBackend } from '../../contract/backend.js';
import { engineKind } from '../../engine/select.js';
import { pullProgress } from '../pull-progress.js';
import { formatTable, humanSize } from '../table.js';
import type { CliContext, GlobalOptions } from '../context.js';

export async function withStore<T>(ctx: CliContext, global: GlobalOptions, fn: (engine: DaemonBackend) => Promise<T>): Promise<T> {
  if (engineKind({ engine: global.engine, host: global.host, env: ctx.env }) !== 'embedded') {
    throw new UsageError("`flotilla image` manages the embedded engine's images; for dockerd use `docker image`");
  }
  // Loaded only here: gRPC is a large module other commands do without.
  const { openEmbeddedEngine } = await import('../../engine/embedded/index.js');
  const engine = await openEmbeddedEngine({ env: ctx.env });
  try {
    return await fn(engine);
  } finally {
    engine.close();
  }
}

function input(file: string | undefined, ctx: CliContext): Readable {
  if (file === undefined || file === '-') {
    if (process.stdin.isTTY) throw new UsageError('no archive given: name a file, or redirect one to standard input');
    return process.stdin;
  }
  const path = resolve(ctx.cwd, file);
  if (!existsSync(path)) throw new UsageError(`${file}: no such file`);
  const st = statSync(path);
  if (st.isDirectory()) throw new UsageError(`${file}: is a directory, not a tar archive`);
  // A named pipe or a device could block the read forever (or never end): only standard input
  // ("-") may be a stream.
  if (!st.isFile()) throw new UsageError(`${file}: is ${st.isFIFO() ? 'a named pipe' : 'not a regular file'}; give a file, or "-" to read standard input`);
  return createReadStream(path);
}

export function registerImageStore(program: Command, ctx: CliContext, global: () => GlobalOptions): void {
  const image = program.command('image').description("Manage the embedded engine's images");

  image
    .command('import')
    .description('Make an image from a root filesystem tarball (plain or gzip; "-" reads standard input)')
    .argument('<file>', 'the tarball')
    .argument('[reference]', 'NAME[:TAG] to tag it with')
    .action((file: string, reference: string | undefined) => {
      const archive = input(file, ctx); // before the daemon is asked for (and maybe started)
      return withStore(ctx, global(), async (engine) => {
        const ref = await engine.importImage(archive, reference);
        ctx.stdout.write(`${ref.id}\n`);
      });
    });

  image
    .command('load')
    .description('Load the images of a `docker save` or OCI archive (standard input by default)')
    .option('-i, --input <file>', 'read the archive from a file')
    .option('-q, --quiet', 'print nothing')
    .action((flags: { input?: string; quiet?: boolean }) => {
      const archive = input(flags.input, ctx);
      return withStore(ctx, global(), async (engine) => {
        const refs = await engine.loadImages(archive);
        if (flags.quiet) return;
        for (const r of refs) {
          if (r.tags.length === 0) ctx.stdout.write(`Loaded image ID: ${r.id}\n`);
          for (const t of r.tags) ctx.stdout.write(`Loaded image: ${t}\n`);
        }
      });
    });

  image
    .command('save')
    .description('Write images to a tar archive as `docker save` does, which `docker load` reads (standard output by default)')
    .argument('<images...>', 'NAME[:TAG] (a NAME alone: all its tags), NAME@DIGEST or an image id')
    .option('-o, --output <file>', 'write to a file instead (it appears whole, or not at all)')
    .action((refs: string[], flags: { output?: string }) =>
      withStore(ctx, global(), async (engine) => {
        if (flags.output === undefined) {
          if ((ctx.stdout as { isTTY?: boolean }).isTTY) throw new UsageError('cowardly refusing to save to a terminal: use the -o flag or redirect');
          for await (const chunk of engine.saveImages(refs)) {
            if (!ctx.stdout.write(chunk)) await once(ctx.stdout, 'drain');
          }
          return;
        }
        await writeWhole(resolve(ctx.cwd, flags.output), Readable.from(engine.saveImages(refs)));
      }),
    );

  image
    .command('pull')
    .description('Pull an image from a registry (credentials from the Docker config, as `docker login` stores them)')
    .argument('<reference>', 'NAME[:TAG] or NAME@DIGEST')
    .option('--platform <platform>', 'os/arch[/variant] of an image with several (default: this machine)')
    .option('-q, --quiet', 'print only the image name')
    .action((reference: string, flags: { platform?: string; quiet?: boolean }) =>
      withStore(ctx, global(), async (engine) => {
        await engine.pullImage(reference, pullProgress(ctx.stdout, flags.quiet === true), flags.platform ? { platform: flags.platform } : {});
        if (flags.quiet) ctx.stdout.write(`${reference}\n`);
      }),
    );

  image
    .command('push')
    .description('Push an image to its registry (credentials from the Docker config); prints the digest as docker push does')
    .argument('<reference>', 'NAME[:TAG]')
    .option('-q, --quiet', 'print only the pushed image pinned by digest')
    .action((reference: string, flags: { quiet?: boolean }) =>
      withStore(ctx, global(), async (engine) => {
        const digest = await engine.pushImage(reference, pullProgress(ctx.stdout, flags.quiet === true));
        if (flags.quiet) ctx.stdout.write(`${reference.replace(/:[^:/]+$/, '')}@${digest}\n`);
      }),
    );

  image
    .command('tag')
    .description('Give an image another name')
    .argument('<source>', 'NAME[:TAG], NAME@DIGEST or an image id')
    .argument('<target>', 'NAME[:TAG]')
    .action((source: string, target: string) => withStore(ctx, global(), (engine) => engine.tagImage(source, target)));

  image
    .command('inspect')
    .description('Details of images, as the JSON list docker image inspect prints')
    .argument('<images...>')
    .action((refs: string[]) =>
      withStore(ctx, global(), async (engine) => {
        const found: unknown[] = [];
        const missing: string[] = [];
        for (const r of refs) {
          const details = await engine.imageDetails(r);
          if (details === null) missing.push(r);
          else found.push((JSON.parse(details) as { inspect: unknown }).inspect);
        }
        ctx.stdout.write(`${JSON.stringify(found, null, 4)}\n`);
        if (missing.length > 0) throw new EngineError('not-found', missing.map((m) => `No such image: ${m}`).join('; '));
      }),
    );

  image
    .command('history')
    .description("An image's layers and the steps that made them, newest first")
    .argument('<image>')
    .option('--no-trunc', 'do not shorten ids and commands')
    .option('-q, --quiet', 'only the ids')
    .action((ref: string, flags: { trunc: boolean; quiet?: boolean }) =>
      withStore(ctx, global(), async (engine) => {
        const details = await engine.imageDetails(ref);
        if (details === null) throw new EngineError('not-found', `No such image: ${ref}`);
        const { history } = JSON.parse(details) as { history: HistoryRow[] };
        const id = (i: string): string => (i === '<missing>' || !flags.trunc ? i : shortId(i));
        if (flags.quiet) {
          for (const h of history) ctx.stdout.write(`${id(h.id)}\n`);
          return;
        }
        const cut = (s: string): string => (flags.trunc && s.length > 45 ? `${s.slice(0, 44)}…` : s);
        const rows = history.map((h) => [id(h.id), h.created ? `${humanDuration(Date.now() - Date.parse(h.created))} ago` : '', cut(h.createdBy), humanSize(h.size), h.comment]);
        ctx.stdout.write(`${dockerTable(['IMAGE', 'CREATED', 'CREATED BY', 'SIZE', 'COMMENT'], rows)}\n`);
      }),
    );

  image
    .command('prune')
    .description('Remove unnamed images no container uses (-a: every image no container uses), and the layers nothing else has')
    .option('-a, --all', 'every unused image, not only unnamed ones')
    .option('-f, --force', 'do not ask')
    .action((flags: { all?: boolean; force?: boolean }) =>
      withStore(ctx, global(), async (engine) => {
        if (!flags.force) {
          if (!process.stdin.isTTY) throw new UsageError('image prune removes images: confirm with -f');
          const question = flags.all ? 'all images without at least one container associated to them' : 'all dangling images';
          const answer = await ask(`WARNING! This will remove ${question}.\nAre you sure you want to continue? [y/N] `);
          if (!/^y(es)?$/i.test(answer.trim())) return;
        }
        const result = JSON.parse(await engine.pruneImages(flags.all === true)) as { deleted: string[]; untagged: string[]; reclaimed: number };
        if (result.deleted.length > 0 || result.untagged.length > 0) {
          ctx.stdout.write('Deleted Images:\n');
          for (const u of result.untagged) ctx.stdout.write(`untagged: ${u}\n`);
          for (const d of result.deleted) ctx.stdout.write(`deleted: ${d}\n`);
          ctx.stdout.write('\n');
        }
        ctx.stdout.write(`Total reclaimed space: ${humanSize(result.reclaimed)}\n`);
      }),
    );

  image
    .command('ls')
    .alias('list')
    .description('List images')
    .option('-q, --quiet', 'only image IDs')
    .action((flags: { quiet?: boolean }) =>
      withStore(ctx, global(), async (engine) => {
        const images = await engine.listImages();
        if (flags.quiet) {
          for (const i of images) ctx.stdout.write(`${shortId(i.id)}\n`);
          return;
        }
        const rows: string[][] = [];
        for (const i of images) {
          const tags = i.repoTags.length > 0 ? i.repoTags : ['<none>:<none>'];
          for (const t of tags) {
            const at = t.lastIndexOf(':');
            rows.push([t.slice(0, at), t.slice(at + 1), shortId(i.id), new Date(i.created * 1000).toISOString().slice(0, 19).replace('T', ' '), humanSize(i.size)]);
          }
        }
        ctx.stdout.write(`${formatTable(['REPOSITORY', 'TAG', 'IMAGE ID', 'CREATED', 'SIZE'], rows)}\n`);
      }),
    );

  image
    .command('rm')
    .alias('remove')
    .description('Remove images (a tag, or an ID with all its tags)')
    .argument('<images...>')
    .option('-f, --force', 'remove even when a stopped container uses it')
    .action((refs: string[], flags: { force?: boolean }) =>
      withStore(ctx, global(), async (engine) => {
        for (const r of refs) {
          // What docker rmi prints: each name untagged, then each image deleted.
          const result = JSON.parse(await engine.imageRemoval(r, flags.force === true)) as { untagged: string[]; deleted: string[] };
          for (const name of result.untagged) ctx.stdout.write(`Untagged: ${name}\n`);
          for (const id of result.deleted) ctx.stdout.write(`Deleted: ${id}\n`);
        }
      }),
    );
}

/** Writes `data` to `path` through a temporary file beside it: an interrupted or failed save leaves no file. */
async function writeWhole(path: string, data: Readable): Promise<void> {
  const tmp = join(dirname(path), `.${basename(path)}.tmp-${process.pid}`);
  try {
    await pipeline(data, createWriteStream(tmp, { flags: 'wx', mode: 0o666 }));
    await rename(tmp, path);
  } catch (e) {
    await rm(tmp, { force: true });
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'EACCES' || code === 'EISDIR' || code === 'ENOTDIR') throw new UsageError(`${path}: ${(e as Error).message.replace(/^[A-Z]+: /, '').replace(/, open '.*'$/, '')}`);
    throw e;
  }
}

function shortId(id: string): string {
  return id.replace(/^sha256:/, '').slice(0, 12);
}

export async function ask(question: string): Promise<string> {
  const { createInterface } = await import('node:readline/promises');
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    return await rl.question(question);
  } finally {
    rl.close();
  }
}

/** Columns as the Docker CLI aligns them (left, three spaces apart), without docker-compose's rule line. */
function dockerTable(headers: string[], rows: string[][]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  return [headers, ...rows].map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd((widths[i] ?? 0) + 3))).join('').trimEnd()).join('\n');
}
