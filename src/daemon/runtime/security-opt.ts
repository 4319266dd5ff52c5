/** security_opt entries, in Docker's forms (`key=value` or `key:value`). Pure. */
import { EngineError } from '../../contract/errors.js';

export interface SecurityOptions {
  noNewPrivileges: boolean;
  /** default: our own profile; unconfined: none; a path: a profile file in Docker's format. */
  seccomp: 'default' | 'unconfined' | { path: string };
  /** systempaths=unconfined: no masked or read-only /proc and /sys paths. */
  unmaskedPaths: boolean;
  /** Options accepted and ignored (this host has no AppArmor or SELinux policy to apply). */
  ignored: string[];
}

function boolValue(value: string | undefined, option: string): boolean {
  if (value === undefined || value === '' || value === 'true' || value === '1') return true;
  if (value === 'false' || value === '0') return false;
  throw new EngineError('invalid', `invalid security_opt ${JSON.stringify(option)}: expected true or false`);
}

export function parseSecurityOpt(list: readonly string[]): SecurityOptions {
  const out: SecurityOptions = { noNewPrivileges: false, seccomp: 'default', unmaskedPaths: false, ignored: [] };
  for (const option of list) {
    const m = /^([a-z-]+)(?:[=:](.*))?$/s.exec(option.trim());
    const key = m?.[1];
    const value = m?.[2];
    switch (key) {
      case 'no-new-privileges':
        out.noNewPrivileges = boolValue(value, option);
        break;
      case 'seccomp':
        if (!value) throw new EngineError('invalid', `invalid security_opt ${JSON.stringify(option)}: seccomp needs "unconfined" or a profile file`);
        out.seccomp = value === 'unconfined' ? 'unconfined' : { path: value };
        break;
      case 'systempaths':
        if (value !== 'unconfined') throw new EngineError('invalid', `invalid security_opt ${JSON.stringify(option)}: only systempaths=unconfined is known`);
        out.unmaskedPaths = true;
        break;
      case 'apparmor':
      case 'label':
        out.ignored.push(option);
        break;
      default:
        throw new EngineError('invalid', `invalid security_opt ${JSON.stringify(option)}: known options are no-new-privileges, seccomp, systempaths, apparmor and label`);
    }
  }
  return out;
}
