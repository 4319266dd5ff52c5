/**
 * The daemon's registry side: one transport (TLS trust from certs.d, plain HTTP where allowed,
 * both from the daemon's settings) and the pull, push and login operations on the image store.
 * Credentials come with each request from the CLI, which reads them from its user's Docker
 * config; the daemon keeps none.
 */
import type { ProgressSink, PullOptions } from '../../contract/engine.js';
import { EngineError } from '../../contract/errors.js';
import type { DaemonJson } from '../daemon-json.js';
import { parseReference, registryOf } from '../../contract/image-reference.js';
import type { ImageStore, StoredImage } from '../images/store.js';
import { RegistryClient } from './client.js';
import { imageDetails } from '../images/details.js';
import { pullImage } from './pull.js';
import { pushImage } from './push.js';
import { DEFAULT_CERTS_DIR, RegistryTransport } from './transport.js';

export interface RegistrySettings {
  /** Registries (host[:port] or CIDR) that may be reached over plain HTTP, as dockerd's setting. */
  insecureRegistries: string[];
  /** Per-registry CA certificates, Docker's certs.d layout. */
  certsDir: string;
}

/** <root>/daemon.json: {"insecure-registries": [...], "registry-certs-dir": "..."}; absent means defaults. */
export function registrySettingsFrom({ file, doc }: DaemonJson): RegistrySettings {
  const insecure = doc['insecure-registries'] ?? [];
  if (!Array.isArray(insecure) || !insecure.every((x) => typeof x === 'string')) throw new EngineError('invalid', `${file}: insecure-registries: a list of host[:port] or CIDR strings is expected`);
  const certs = doc['registry-certs-dir'] ?? DEFAULT_CERTS_DIR;
  if (typeof certs !== 'string') throw new EngineError('invalid', `${file}: registry-certs-dir: a path is expected`);
  return { insecureRegistries: insecure, certsDir: certs };
}

export class RegistryService {
  private readonly transport: RegistryTransport;

  constructor(
    private readonly store: ImageStore,
    settings: RegistrySettings,
  ) {
    this.transport = new RegistryTransport({ insecureRegistries: settings.insecureRegistries, certsDir: settings.certsDir });
  }

  client(repository: string, credentials: PullOptions['credentials']): RegistryClient {
    return new RegistryClient(this.transport, registryOf(repository).apiHost, credentials ?? null);
  }

  /** inspect and history (the store is reached through here so the engine needs no more of it). */
  details(ref: string): ReturnType<typeof imageDetails> {
    return imageDetails(this.store, ref);
  }

  prune(all: boolean, inUse: (id: string) => boolean): Promise<{ deleted: string[]; untagged: string[]; reclaimed: number }> {
    return this.store.prune({ all, inUse });
  }

  push(ref: string, progress: ProgressSink | undefined, options: Pick<PullOptions, 'credentials'> = {}): Promise<string> {
    return pushImage(this.store, this.client(parseReference(ref).repository, options.credentials), ref, progress ? { progress } : {});
  }

  /**
   * The digest the registry has for `ref` (a HEAD of its manifest, nothing pulled), or null when
   * it has none: what `bundle` pins an image to when the engine lacks it. The CLI sends its
   * user's credentials for the registry, as for a pull.
   */
  digest(ref: string, credentials: PullOptions['credentials'] = null): Promise<string | null> {
    const parsed = parseReference(ref);
    return this.client(parsed.repository, credentials).manifestDigest(registryOf(parsed.repository).path, parsed.digest ?? parsed.tag ?? 'latest');
  }

  pull(ref: string, progress: ProgressSink | undefined, options: PullOptions = {}): Promise<StoredImage> {
    return pullImage(this.store, this.client(parseReference(ref).repository, options.credentials), ref, { ...(options.platform ? { platform: options.platform } : {}), ...(progress ? { progress } : {}) });
  }
}
