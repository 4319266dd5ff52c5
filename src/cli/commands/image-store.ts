/**
 * `flotilla image import|load|pull|ls|rm`: the embedded engine's own image store. Images come
 * from a registry (`pull`), a root filesystem tarball (`import`) or a `docker save` / OCI archive
 * (`load`).
 */
import type { Command } from 'commander';
import { createReadStream, existsSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Readable } from 'node:stream';
import { UsageError } from '../../errors.js';
import type { DaemonBackend } from '../../daemon/backend.js';
import { engineKind } from '../../engine/select.js';
import { pullProgress } from '../pull-progress.js';
import { formatTable, humanSize } from '../table.js';
import type { CliContext, GlobalOptions } from '../context.js';

async function withStore<T>(ctx: CliContext, global: GlobalOptions, fn: (engine: DaemonBackend) => Promise<T>): Promise<T> {
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
  if (statSync(path).isDirectory()) throw new UsageError(`${file}: is a directory, not a tar archive`);
  return createReadStream(path);
}

export function registerImageStore(program: Command, ctx: CliContext, global: () => GlobalOptions): void {
  const image = program.command('image').description("Manage the embedded engine's images");

  image
    .command('import')
    .description('Make an image from a root filesystem tarball (plain or gzip; "-" reads standard input)')
    .argument('<file>', 'the tarball')
    .argument('[reference]', 'NAME[:TAG] to tag it with')
    .action((file: string, reference: string | undefined) =>
      withStore(ctx, global(), async (engine) => {
        const ref = await engine.importImage(input(file, ctx), reference);
        ctx.stdout.write(`${ref.id}\n`);
      }),
    );

  image
    .command('load')
    .description('Load the images of a `docker save` or OCI archive (standard input by default)')
    .option('-i, --input <file>', 'read the archive from a file')
    .option('-q, --quiet', 'print nothing')
    .action((flags: { input?: string; quiet?: boolean }) =>
      withStore(ctx, global(), async (engine) => {
        const refs = await engine.loadImages(input(flags.input, ctx));
        if (flags.quiet) return;
        for (const r of refs) {
          if (r.tags.length === 0) ctx.stdout.write(`Loaded image ID: ${r.id}\n`);
          for (const t of r.tags) ctx.stdout.write(`Loaded image: ${t}\n`);
        }
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
          await engine.removeImage(r, { force: flags.force === true });
          ctx.stdout.write(`Deleted: ${r}\n`);
        }
      }),
    );
}

function shortId(id: string): string {
  return id.replace(/^sha256:/, '').slice(0, 12);
}
