/**
 * How a stack names and marks what it owns: `<stack>_<name>` for services, networks, secrets,
 * configs and volumes, and the label `com.docker.stack.namespace=<stack>` on each (a stack is
 * nothing but that label: Docker's CLI and Flotilla find each other's stacks by it).
 */

export const NAMESPACE_LABEL = 'com.docker.stack.namespace';
/** The image as the file names it (before any pinning by digest). */
export const IMAGE_LABEL = 'com.docker.stack.image';

export function scope(stack: string, name: string): string {
  return `${stack}_${name}`;
}

/** The name inside the stack of an object named `<stack>_<name>`. */
export function descope(stack: string, name: string): string {
  return name.startsWith(`${stack}_`) ? name.slice(stack.length + 1) : name;
}

export function namespaceFilter(stack: string): string {
  return `${NAMESPACE_LABEL}=${stack}`;
}

export function withNamespace(stack: string, labels: Record<string, string> | undefined): Record<string, string> {
  return { ...labels, [NAMESPACE_LABEL]: stack };
}

/** Swarm's rule for service names (a DNS label): letters and digits, joined by "-" or "_". */
const SERVICE_NAME = /^[a-zA-Z0-9](?:[-_]*[A-Za-z0-9]+)*$/;

/** Why a stack name cannot be used, or undefined when it can. */
export function stackNameProblem(stack: string): string | undefined {
  if (!/^[a-zA-Z0-9](?:[-_]*[A-Za-z0-9]+)*$/.test(stack)) {
    return `invalid stack name "${stack}": use letters and digits, joined by "-" or "_" (the swarm names services <stack>_<service>)`;
  }
  return undefined;
}

/** Why `<stack>_<service>` cannot name a swarm service, or undefined when it can. */
export function serviceNameProblem(stack: string, service: string): string | undefined {
  const name = scope(stack, service);
  if (!SERVICE_NAME.test(name)) return `"${name}" cannot name a swarm service: use letters and digits, joined by "-" or "_"`;
  if (name.length > 63) return `"${name}" cannot name a swarm service: it has ${name.length} characters, at most 63 are allowed`;
  return undefined;
}

/** The swarm name of a top-level network, volume, secret or config: its `name`, else `<stack>_<key>`
 * (an external one: its `name`, else `external.name`, else the key itself). */
export function topLevelName(stack: string, key: string, config: { name?: unknown; external?: unknown }): string {
  const name = typeof config.name === 'string' && config.name !== '' ? config.name : undefined;
  if (config.external) {
    const ext = config.external;
    const externalName = typeof ext === 'object' && ext !== null && typeof (ext as { name?: unknown }).name === 'string' ? (ext as { name: string }).name : undefined;
    return name ?? externalName ?? key;
  }
  return name ?? scope(stack, key);
}
