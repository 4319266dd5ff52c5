/**
 * The Docker Engine API's swarm objects as JSON (API 1.41; fields newer APIs added are optional).
 * Go's encoding: absent and zero-valued fields are often left out, lists may be null.
 */

export type DLabels = Record<string, string> | null;

export interface DVersion {
  Index: number;
}

export interface DServiceSpec {
  Name: string;
  Labels?: DLabels;
  TaskTemplate: DTaskSpec;
  Mode?: {
    Replicated?: { Replicas?: number };
    Global?: Record<string, never>;
    ReplicatedJob?: { MaxConcurrent?: number; TotalCompletions?: number };
    GlobalJob?: Record<string, never>;
  };
  UpdateConfig?: DUpdateConfig | null;
  RollbackConfig?: DUpdateConfig | null;
  /** Deprecated (Docker 1.12 put bundle networks here); read, never written. */
  Networks?: DNetworkAttachment[] | null;
  EndpointSpec?: { Mode?: string; Ports?: DPortConfig[] | null } | null;
}

export interface DTaskSpec {
  ContainerSpec?: DContainerSpec;
  Resources?: {
    Limits?: { NanoCPUs?: number; MemoryBytes?: number; Pids?: number } | null;
    Reservations?: {
      NanoCPUs?: number;
      MemoryBytes?: number;
      GenericResources?: { DiscreteResourceSpec?: { Kind: string; Value: number }; NamedResourceSpec?: { Kind: string; Value: string } }[] | null;
    } | null;
  } | null;
  RestartPolicy?: { Condition?: string; Delay?: number; MaxAttempts?: number; Window?: number } | null;
  Placement?: {
    Constraints?: string[] | null;
    Preferences?: { Spread?: { SpreadDescriptor: string } }[] | null;
    MaxReplicas?: number;
    Platforms?: { Architecture: string; OS: string }[] | null;
  } | null;
  Networks?: DNetworkAttachment[] | null;
  LogDriver?: { Name: string; Options?: DLabels } | null;
  ForceUpdate?: number;
  Runtime?: string;
}

export interface DNetworkAttachment {
  Target: string;
  Aliases?: string[] | null;
  DriverOpts?: DLabels;
}

export interface DMount {
  Type: string;
  Source?: string;
  Target: string;
  ReadOnly?: boolean;
  Consistency?: string;
  BindOptions?: { Propagation?: string; NonRecursive?: boolean } | null;
  VolumeOptions?: { NoCopy?: boolean; Labels?: DLabels; DriverConfig?: { Name?: string; Options?: DLabels } | null } | null;
  TmpfsOptions?: { SizeBytes?: number; Mode?: number } | null;
}

export interface DFileReference {
  File?: { Name: string; UID: string; GID: string; Mode: number } | null;
  Runtime?: Record<string, never> | null;
}

export interface DContainerSpec {
  Image: string;
  Labels?: DLabels;
  Command?: string[] | null;
  Args?: string[] | null;
  Hostname?: string;
  Env?: string[] | null;
  Dir?: string;
  User?: string;
  Groups?: string[] | null;
  Privileges?: {
    CredentialSpec?: { Config?: string; File?: string; Registry?: string } | null;
    SELinuxContext?: unknown;
  } | null;
  Init?: boolean | null;
  StopSignal?: string;
  StopGracePeriod?: number | null;
  TTY?: boolean;
  OpenStdin?: boolean;
  ReadOnly?: boolean;
  Mounts?: DMount[] | null;
  Healthcheck?: { Test?: string[] | null; Interval?: number; Timeout?: number; StartPeriod?: number; StartInterval?: number; Retries?: number } | null;
  Hosts?: string[] | null;
  DNSConfig?: { Nameservers?: string[] | null; Search?: string[] | null; Options?: string[] | null } | null;
  Secrets?: (DFileReference & { SecretID: string; SecretName: string })[] | null;
  Configs?: (DFileReference & { ConfigID: string; ConfigName: string })[] | null;
  Isolation?: string;
  Sysctls?: DLabels;
  CapabilityAdd?: string[] | null;
  CapabilityDrop?: string[] | null;
  Ulimits?: { Name: string; Soft: number; Hard: number }[] | null;
  OomScoreAdj?: number;
}

export interface DUpdateConfig {
  Parallelism?: number;
  Delay?: number;
  FailureAction?: string;
  Monitor?: number;
  MaxFailureRatio?: number;
  Order?: string;
}

export interface DPortConfig {
  Name?: string;
  Protocol?: string;
  TargetPort?: number;
  PublishedPort?: number;
  PublishMode?: string;
}

export interface DService {
  ID: string;
  Version: DVersion;
  CreatedAt: string;
  UpdatedAt: string;
  Spec: DServiceSpec;
  PreviousSpec?: DServiceSpec | null;
  Endpoint?: { Spec?: unknown; Ports?: DPortConfig[] | null; VirtualIPs?: { NetworkID: string; Addr: string }[] | null } | null;
  UpdateStatus?: { State?: string; StartedAt?: string; CompletedAt?: string; Message?: string } | null;
  ServiceStatus?: { RunningTasks: number; DesiredTasks: number; CompletedTasks?: number } | null;
}

export interface DTask {
  ID: string;
  Version: DVersion;
  CreatedAt: string;
  UpdatedAt: string;
  Name?: string;
  Labels?: DLabels;
  Spec: DTaskSpec;
  ServiceID: string;
  Slot?: number;
  NodeID?: string;
  Status: {
    Timestamp?: string;
    State: string;
    Message?: string;
    Err?: string;
    ContainerStatus?: { ContainerID?: string; PID?: number; ExitCode?: number } | null;
    PortStatus?: { Ports?: DPortConfig[] | null } | null;
  };
  DesiredState: string;
}

export interface DNode {
  ID: string;
  Version: DVersion;
  CreatedAt: string;
  UpdatedAt: string;
  Spec: { Name?: string; Labels?: DLabels; Role: string; Availability: string };
  Description?: {
    Hostname?: string;
    Platform?: { Architecture?: string; OS?: string };
    Resources?: { NanoCPUs?: number; MemoryBytes?: number };
    Engine?: { EngineVersion?: string; Labels?: DLabels };
  };
  Status: { State: string; Message?: string; Addr?: string };
  ManagerStatus?: { Leader?: boolean; Reachability?: string; Addr?: string } | null;
}

export interface DNetwork {
  Id: string;
  Name: string;
  Driver: string;
  Scope: string;
  Internal: boolean;
  Attachable: boolean;
  Labels: DLabels;
  Options: DLabels;
  IPAM?: { Driver?: string; Config?: { Subnet?: string }[] | null } | null;
}

export interface DStoredObject {
  ID: string;
  Version: DVersion;
  CreatedAt: string;
  UpdatedAt: string;
  Spec: { Name: string; Labels?: DLabels; Data?: string; Driver?: { Name: string } | null; Templating?: { Name: string } | null };
}

export interface DInfo {
  Swarm?: { NodeID?: string; LocalNodeState?: string; ControlAvailable?: boolean; Error?: string };
}

export interface DDistribution {
  Descriptor: { digest: string };
  Platforms?: { architecture: string; os: string }[] | null;
}
