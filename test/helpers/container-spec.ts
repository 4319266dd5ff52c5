/** A ContainerSpec for tests: every field at its empty value, busybox:latest on the default network. */
import type { ContainerSpec } from '../../src/contract/engine.js';

export function bareSpec(name: string, overrides: Partial<ContainerSpec> = {}): ContainerSpec {
  return {
    name,
    image: 'busybox:latest',
    labels: {},
    env: [],
    tty: false,
    openStdin: false,
    exposedPorts: [],
    networkMode: { kind: 'networks' },
    networks: {},
    publishedPorts: [],
    mounts: [],
    volumesFrom: [],
    tmpfs: [],
    links: [],
    privileged: false,
    readOnlyRootfs: false,
    capAdd: [],
    capDrop: [],
    devices: [],
    deviceCgroupRules: [],
    dns: [],
    dnsSearch: [],
    dnsOptions: [],
    extraHosts: [],
    groupAdd: [],
    sysctls: {},
    ulimits: [],
    securityOpt: [],
    ...overrides,
  };
}
