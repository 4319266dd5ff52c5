/**
 * Stands in for the `ssh2` package in the bundle (scripts/build.mjs aliases it here). docker-modem
 * requires ssh2 when it loads, and ssh2's optional native bindings cannot be bundled; Flotilla
 * does not speak to ssh:// hosts (endpoint.ts refuses them before this could be reached).
 */
export class Client {
  constructor() {
    throw new Error('ssh:// Docker hosts are not supported; use unix:// or tcp://');
  }
}
