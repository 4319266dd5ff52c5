/**
 * A service's `volumes` as swarm mounts, as Docker's stack deploy converts them: named volumes
 * become `<stack>_<name>` (or their `name:`), created on each node with the stack's label and the
 * volume's driver; binds keep their (absolute) host path; tmpfs keeps its size. Options written
 * in the short syntax (`src:dst:ro,rshared`) are read as Docker reads them.
 */
import type { Mount } from '../contract/swarm.js';
import type { ComposeService, ComposeVolumeEntry } from '../compose/document.js';
import { topLevelName, withNamespace } from './names.js';
import { ServiceDefinitionError, type ServiceContext } from './spec.js';

const PROPAGATIONS = ['private', 'rprivate', 'shared', 'rshared', 'slave', 'rslave'];

function shortOptions(v: ComposeVolumeEntry): { readOnly?: boolean; noCopy?: boolean; propagation?: string } {
  const out: { readOnly?: boolean; noCopy?: boolean; propagation?: string } = {};
  for (const option of (v.shortMode ?? '').split(',')) {
    if (option === 'ro') out.readOnly = true;
    else if (option === 'rw') out.readOnly = false;
    else if (option === 'nocopy') out.noCopy = true;
    else if (PROPAGATIONS.includes(option)) out.propagation = option;
  }
  return out;
}

function mountOf(s: ComposeService, v: ComposeVolumeEntry, index: number, ctx: ServiceContext): Mount {
  const fail = (message: string): never => {
    throw new ServiceDefinitionError(s.name, ['volumes', index], message);
  };
  const short = shortOptions(v);
  const readOnly = v.read_only ?? short.readOnly;
  const common = (m: Mount): Mount => {
    if (readOnly) m.readOnly = true;
    if (v.consistency) m.consistency = v.consistency;
    return m;
  };
  switch (v.type) {
    case 'bind': {
      if (!v.source) fail('a bind mount needs a source');
      if (v.volume || v.tmpfs) fail('volume and tmpfs options do not go with type bind');
      const m = common({ type: 'bind', source: v.source as string, target: v.target });
      const propagation = v.bind?.propagation ?? short.propagation;
      if (m.type === 'bind' && propagation !== undefined) m.propagation = propagation;
      return m;
    }
    case 'tmpfs': {
      if (v.source) fail('a tmpfs mount has no source');
      if (v.bind || v.volume) fail('bind and volume options do not go with type tmpfs');
      const m = common({ type: 'tmpfs', target: v.target });
      if (m.type === 'tmpfs' && typeof v.tmpfs?.size === 'number') m.sizeBytes = v.tmpfs.size;
      return m;
    }
    case 'volume': {
      if (v.bind || v.tmpfs) fail('bind and tmpfs options do not go with type volume');
      if (!v.source) return common({ type: 'volume', target: v.target });
      const declared = ctx.project.volumes[v.source];
      if (!declared) fail(`undefined volume "${v.source}": declare it under the top-level "volumes"`);
      const m: Mount = { type: 'volume', source: topLevelName(ctx.stack, v.source, declared ?? {}), target: v.target };
      common(m);
      const noCopy = v.volume?.nocopy ?? short.noCopy;
      if (noCopy) m.noCopy = true;
      if (!declared?.external) {
        m.volumeLabels = withNamespace(ctx.stack, declared?.labels);
        if (declared?.driver !== undefined || declared?.driver_opts !== undefined) {
          const driver: NonNullable<typeof m.driver> = { name: declared.driver ?? '' };
          if (declared.driver_opts) driver.options = Object.fromEntries(Object.entries(declared.driver_opts).map(([k, x]) => [k, String(x)]));
          m.driver = driver;
        }
      }
      return m;
    }
    default:
      return fail(`volume type "${v.type}" is not supported by stack deploy (use volume, bind or tmpfs)`);
  }
}

export function mountsOf(s: ComposeService, ctx: ServiceContext): Mount[] {
  return (s.volumes ?? []).map((v, i) => mountOf(s, v, i, ctx));
}
