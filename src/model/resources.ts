/**
 * The top-level networks, volumes, secrets and configs of a deployment, with the names the
 * engine knows them by already worked out (`<project>_<key>`, or the definition's own `name`).
 */

export interface Network {
  /** The key under `networks:` ("default" for the implicit one). */
  key: string;
  /** The engine's name for it. */
  name: string;
  external: boolean;
  driver?: string;
  driverOpts: Record<string, string>;
  ipam?: Ipam;
  internal: boolean;
  enableIpv6: boolean;
  /** Unset: the engine's default (Compose attaches to a project network only if it may). */
  attachable?: boolean;
  labels: Record<string, string>;
}

export interface Ipam {
  driver?: string;
  config: IpamPool[];
  options: Record<string, string>;
}

export interface IpamPool {
  subnet?: string;
  ipRange?: string;
  gateway?: string;
  auxAddresses: Record<string, string>;
}

export interface Volume {
  key: string;
  name: string;
  external: boolean;
  driver?: string;
  driverOpts: Record<string, string>;
  labels: Record<string, string>;
}

/** A secret or a config: a file, or a value the engine already holds (external). */
export interface FileObject {
  key: string;
  name: string;
  external: boolean;
  /** Absolute path of the file, for file-based ones. */
  file?: string;
  /**
   * Compose Specification `content` (interpolated), or the value of the variable `environment`
   * names: written into the containers that use it, as Compose v2 copies it in.
   */
  content?: string;
  labels: Record<string, string>;
  driver?: string;
  driverOpts: Record<string, string>;
  templateDriver?: string;
}
