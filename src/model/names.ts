/**
 * Names exactly as docker-compose 1.29.2 gives them, so each tool finds and manages the other's
 * objects: containers `<project>_<service>_<n>` (one-offs `<project>_<service>_run_<12 hex>`),
 * networks `<project>_<key>`, volumes and built images `<project>_<name>` with the project's
 * leading "-" and "_" dropped. Identity always comes from labels (plan/labels.ts), never names.
 */

/** The project name as docker-compose puts it in container, volume and image names. */
function namePrefix(project: string): string {
  return project.replace(/^[-_]+/, '');
}

export function containerName(project: string, service: string, number: number): string {
  return `${namePrefix(project)}_${service}_${number}`;
}

export function oneOffContainerName(project: string, service: string, slug: string): string {
  return `${namePrefix(project)}_${service}_run_${slug.slice(0, 12)}`;
}

/** The image a service with `build` but no `image` is tagged as. */
export function builtImageName(project: string, service: string): string {
  return `${namePrefix(project)}_${service}`;
}

export function networkName(project: string, key: string): string {
  return `${project}_${key}`;
}

export function volumeName(project: string, key: string): string {
  return `${namePrefix(project)}_${key}`;
}

/** `web_1` for `demo_web_1`: the prefix logs show. */
export function nameWithoutProject(name: string, project: string): string {
  const prefix = `${namePrefix(project)}_`;
  return name.startsWith(prefix) ? name.slice(prefix.length) : name;
}
