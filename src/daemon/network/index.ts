/** The daemon's networking (see ./manager.ts). */
export { NetworkManager } from './manager.js';
export { DEFAULT_NETWORK } from './directory.js';
export { toNetworkInfo } from './info.js';
export type {
  EndpointRecord,
  NameFiles,
  NameSettings,
  NetworkManagerOptions,
  NetworkRecord,
  PortRequest,
  PublishedPort,
} from './types.js';
