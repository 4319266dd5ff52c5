/**
 * Placement constraints as swarmkit reads them (manager/constraint/constraint.go): `key==value` or
 * `key!=value`, values compared case-insensitively, a missing label compared as "", unknown keys
 * accepted but never matching.
 */
import { EngineError } from '../contract/errors.js';
import type { Node } from '../contract/swarm.js';

export interface Constraint {
  key: string;
  equal: boolean;
  value: string;
}

const KEY = /^[a-z_][a-z0-9\-_.]+$/i;
const VALUE = /^[a-z0-9:\-_\s.*()?+[\]\\^$|/]+$/i;

/** Parses every constraint; an invalid one is an error as the swarm reports it. */
export function parseConstraints(expressions: readonly string[]): Constraint[] {
  return expressions.map((expr) => {
    for (const [op, equal] of [['==', true], ['!=', false]] as const) {
      const at = expr.indexOf(op);
      if (at < 0) continue;
      const key = expr.slice(0, at).trim();
      const value = expr.slice(at + op.length).trim();
      if (!KEY.test(key)) throw new EngineError('invalid', `key '${key}' is invalid`);
      if (!VALUE.test(value)) throw new EngineError('invalid', `value '${value}' is invalid`);
      return { key, equal, value };
    }
    throw new EngineError('invalid', 'constraint expected one operator from ==, !=');
  });
}

/** The node's value for a constraint key, or undefined when the key is not one swarmkit knows. */
function nodeValue(node: Node, key: string, engineLabels: Record<string, string>): string | undefined {
  const lower = key.toLowerCase();
  if (lower === 'node.id') return node.id;
  if (lower === 'node.hostname') return node.hostname;
  if (lower === 'node.role') return node.spec.role;
  if (lower === 'node.platform.os') return node.platform.os;
  if (lower === 'node.platform.arch') return node.platform.architecture;
  if (lower === 'node.ip') return node.addr;
  if (lower.startsWith('node.labels.')) return node.spec.labels[key.slice('node.labels.'.length)] ?? '';
  if (lower.startsWith('engine.labels.')) return engineLabels[key.slice('engine.labels.'.length)] ?? '';
  return undefined;
}

export function nodeMatches(constraints: readonly Constraint[], node: Node, engineLabels: Record<string, string>): boolean {
  return constraints.every((c) => {
    const actual = nodeValue(node, c.key, engineLabels);
    if (actual === undefined) return false;
    const same = actual.toLowerCase() === c.value.toLowerCase();
    return c.equal ? same : !same;
  });
}
