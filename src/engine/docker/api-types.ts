/**
 * The parts of the Docker Engine API's JSON this backend reads, as the engine sends them (most
 * fields may be null or missing depending on the API version and the object's state).
 */

import type { ImageConfigJson } from '../../contract/image-config.js';

export type DockerLabels = Record<string, string> | null;

export interface DockerImageInspect {
  Id: string;
  RepoTags: string[] | null;
  RepoDigests: string[] | null;
  Created: string;
  Size: number;
  Config: ImageConfigJson | null;
}

export interface DockerImageSummary {
  Id: string;
  RepoTags: string[] | null;
  RepoDigests: string[] | null;
  Created: number;
  Size: number;
  Labels: DockerLabels;
}

export interface DockerPortBinding {
  HostIp: string;
  HostPort: string;
}

export interface DockerContainerSummary {
  Id: string;
  Names: string[];
  Image: string;
  Labels: DockerLabels;
  State: string;
  Status: string;
  Created: number;
}

export interface DockerEndpointSettings {
  IPAddress?: string;
  Aliases?: string[] | null;
  NetworkID?: string;
}

export interface DockerContainerInspect {
  Id: string;
  Name: string;
  Image: string;
  Created: string;
  RestartCount: number;
  State: {
    Status: string;
    Running: boolean;
    Paused: boolean;
    Restarting: boolean;
    OOMKilled: boolean;
    Pid: number;
    ExitCode: number;
    StartedAt: string;
    FinishedAt: string;
    Health?: { Status: string; FailingStreak: number; Log: { ExitCode: number; Output: string }[] | null } | null;
  };
  Config: {
    Image: string;
    Labels?: DockerLabels;
    Cmd?: string[] | null;
    Entrypoint?: string[] | null;
    Env?: string[] | null;
    Tty: boolean;
    OpenStdin: boolean;
    ExposedPorts?: Record<string, object> | null;
  };
  HostConfig: { PortBindings?: Record<string, DockerPortBinding[] | null> | null };
  NetworkSettings: {
    Ports?: Record<string, DockerPortBinding[] | null> | null;
    Networks?: Record<string, DockerEndpointSettings> | null;
  };
  Mounts?: { Type: string; Name?: string; Source: string; Destination: string; RW: boolean }[] | null;
}

export interface DockerNetwork {
  Id: string;
  Name: string;
  Driver: string;
  Internal: boolean;
  Labels: DockerLabels;
  Options: Record<string, string> | null;
  Containers?: Record<string, { Name: string }> | null;
  IPAM?: {
    Driver?: string;
    Options?: Record<string, string> | null;
    Config?: { Subnet?: string; IPRange?: string; Gateway?: string; AuxiliaryAddresses?: Record<string, string> | null }[] | null;
  } | null;
}

export interface DockerVolume {
  Name: string;
  Driver: string;
  Mountpoint: string;
  Labels: DockerLabels;
  Options: Record<string, string> | null;
}

export interface DockerEvent {
  Type?: string;
  Action?: string;
  Actor?: { ID?: string; Attributes?: Record<string, string> };
  time?: number;
  timeNano?: number;
}

/** One line of a pull/push/build progress stream. */
export interface DockerProgressLine {
  id?: string;
  status?: string;
  progress?: string;
  stream?: string;
  error?: string;
  errorDetail?: { message?: string };
  aux?: { ID?: string; Digest?: string; Tag?: string };
}
