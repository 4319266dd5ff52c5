/**
 * The bridge driver's options (Compose `driver_opts`), read from a network's stored options.
 * Supported, as Docker's bridge driver means them:
 *
 *   com.docker.network.driver.mtu                    MTU of the bridge and of every veth
 *   com.docker.network.bridge.enable_ip_masquerade   "false": no MASQUERADE for egress
 *   com.docker.network.bridge.enable_icc             "false": containers of the network cannot talk to each other
 *   com.docker.network.bridge.host_binding_ipv4      the host address of ports published without one
 *
 * `com.docker.network.bridge.name` is refused (bridge names carry the daemon's instance tag);
 * other keys are kept and ignored, as Docker's driver ignores keys it does not know.
 */
import { EngineError } from '../../contract/errors.js';
import { isIpv4 } from './ipv4.js';

export const OPT_MTU = 'com.docker.network.driver.mtu';
export const OPT_MASQUERADE = 'com.docker.network.bridge.enable_ip_masquerade';
export const OPT_ICC = 'com.docker.network.bridge.enable_icc';
export const OPT_HOST_BINDING = 'com.docker.network.bridge.host_binding_ipv4';
export const OPT_BRIDGE_NAME = 'com.docker.network.bridge.name';

export interface BridgeOptions {
  mtu: number | null;
  masquerade: boolean;
  icc: boolean;
  /** '' when not set. */
  hostBindingIpv4: string;
}

function flag(network: string, key: string, value: string | undefined): boolean {
  if (value === undefined) return true;
  const v = value.trim().toLowerCase();
  if (v === 'true' || v === '1') return true;
  if (v === 'false' || v === '0') return false;
  throw new EngineError('invalid', `network ${network}: invalid value ${JSON.stringify(value)} for ${key} (true or false)`);
}

/** The options of network `network`; throws an EngineError naming it for a bad or refused one. */
export function bridgeOptions(network: string, options: Readonly<Record<string, string>>): BridgeOptions {
  if (options[OPT_BRIDGE_NAME] !== undefined) {
    throw new EngineError('invalid', `network ${network}: ${OPT_BRIDGE_NAME} is not supported by the embedded engine (it names its bridges itself)`);
  }
  let mtu: number | null = null;
  const mtuText = options[OPT_MTU];
  if (mtuText !== undefined && mtuText.trim() !== '' && mtuText.trim() !== '0') {
    mtu = Number(mtuText);
    if (!Number.isInteger(mtu) || mtu < 68 || mtu > 65535) throw new EngineError('invalid', `network ${network}: invalid ${OPT_MTU} ${JSON.stringify(mtuText)} (68 to 65535)`);
  }
  const hostBindingIpv4 = (options[OPT_HOST_BINDING] ?? '').trim();
  if (hostBindingIpv4 !== '' && !isIpv4(hostBindingIpv4)) {
    throw new EngineError('invalid', `network ${network}: invalid ${OPT_HOST_BINDING} ${JSON.stringify(hostBindingIpv4)} (an IPv4 address)`);
  }
  return {
    mtu,
    masquerade: flag(network, OPT_MASQUERADE, options[OPT_MASQUERADE]),
    icc: flag(network, OPT_ICC, options[OPT_ICC]),
    hostBindingIpv4,
  };
}
