/**
 * Service volumes as typed mounts: short syntax ("src:dst:ro,z") read into its options, named
 * volumes given their engine names, long syntax's per-type options kept. An option the engine
 * would refuse is reported.
 */
import type { BindMount, Mount, TmpfsVolume, VolumeMount } from '../../model/service.js';
import type { ComposeProject, ComposeVolumeEntry } from '../document.js';
import type { Report } from './deploy.js';
import { fullName } from './networks.js';
import { bytes } from './values.js';

const PROPAGATION = ['shared', 'rshared', 'slave', 'rslave', 'private', 'rprivate'] as const;
const CONSISTENCY = ['consistent', 'cached', 'delegated', 'default'] as const;
type Propagation = (typeof PROPAGATION)[number];
type Consistency = (typeof CONSISTENCY)[number];

const isPropagation = (v: unknown): v is Propagation => (PROPAGATION as readonly unknown[]).includes(v);
const isConsistency = (v: unknown): v is Consistency => (CONSISTENCY as readonly unknown[]).includes(v);

interface ShortOptions {
  readOnly: boolean;
  selinux?: 'z' | 'Z';
  propagation?: Propagation;
  consistency?: Consistency;
  noCopy: boolean;
}

function shortOptions(mode: string, report: (message: string) => void): ShortOptions {
  const out: ShortOptions = { readOnly: false, noCopy: false };
  for (const option of mode.split(',')) {
    if (option === 'ro') out.readOnly = true;
    else if (option === 'rw') out.readOnly = false;
    else if (option === 'z' || option === 'Z') out.selinux = option;
    else if (option === 'nocopy') out.noCopy = true;
    else if (isPropagation(option)) out.propagation = option;
    else if (isConsistency(option)) out.consistency = option;
    else report(`"${option}" is not a volume mode (ro, rw, z, Z, nocopy, a propagation or a consistency)`);
  }
  return out;
}

export function emitMount(project: ComposeProject, v: ComposeVolumeEntry, at: (string | number)[], report: Report): Mount | undefined {
  const legacy = project.format === 'v1';
  const short = v.shortMode !== undefined;
  const options = short ? shortOptions(v.shortMode as string, (m) => report(at, m)) : undefined;
  const readOnly = options?.readOnly ?? v.read_only === true;
  const consistencyText = options?.consistency ?? v.consistency;
  const consistency = isConsistency(consistencyText) ? consistencyText : undefined;
  if (consistencyText !== undefined && consistency === undefined) report(at, `"${consistencyText}" is not a consistency (${CONSISTENCY.join(', ')})`);
  const base = { target: v.target, readOnly, short, ...(consistency ? { consistency } : {}) };
  if (v.type === 'bind') {
    const mount: BindMount = { type: 'bind', source: v.source ?? '', ...base };
    const propagation = options?.propagation ?? v.bind?.propagation;
    if (isPropagation(propagation)) mount.propagation = propagation;
    else if (propagation !== undefined) report(at, `"${propagation}" is not a bind propagation (${PROPAGATION.join(', ')})`);
    if (options?.selinux) mount.selinux = options.selinux;
    return mount;
  }
  if (v.type === 'volume') {
    const mount: VolumeMount = { type: 'volume', noCopy: options?.noCopy ?? v.volume?.nocopy === true, ...base };
    if (v.source !== undefined) {
      mount.source = legacy ? v.source : fullName(project, 'volumes', v.source);
      if (!legacy) mount.key = v.source;
    }
    return mount;
  }
  if (v.type === 'tmpfs') {
    const mount: TmpfsVolume = { type: 'tmpfs', ...base };
    const size = bytes(v.tmpfs?.size);
    if (size !== undefined) mount.sizeBytes = size;
    return mount;
  }
  report(at, `mounts of type "${v.type}" are not supported (bind, volume, tmpfs)`);
  return undefined;
}
