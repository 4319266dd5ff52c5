/**
 * iptables, the framework Docker's rules live in (an accept in another nft table cannot override
 * Docker's FORWARD DROP). Changes are batched into one `iptables-restore --noflush` per call, which
 * the nf_tables backend applies as one transaction: a network's rules appear (or go) together.
 *
 * Only this instance's chains are ever declared, flushed or deleted; the built-in chains only
 * receive (and lose) our jumps, each checked with -C before it is inserted.
 */
import { run } from '../command.js';
import { hostError } from './links.js';

export type Table = 'filter' | 'nat' | 'raw';

export interface Rule {
  table: Table;
  chain: string;
  /**
   * The match and target in the form iptables-save prints them (`-d 10.1.2.3/32 -o br -p tcp -m tcp
   * --dport 80 -j ACCEPT`), so the rules of a chain can be compared as text.
   */
  spec: string[];
}

export interface ChainContent {
  table: Table;
  chain: string;
  rules: Rule[];
}

export function ruleText(rule: Rule): string {
  return [`-A ${rule.chain}`, ...rule.spec].join(' ');
}

const TABLES: Table[] = ['filter', 'nat', 'raw'];

function restoreInput(groups: Map<Table, string[]>): string {
  let text = '';
  for (const table of TABLES) {
    const lines = groups.get(table);
    if (!lines || lines.length === 0) continue;
    text += `*${table}\n${lines.join('\n')}\nCOMMIT\n`;
  }
  return text;
}

function group(rules: readonly Rule[], line: (r: Rule) => string): Map<Table, string[]> {
  const groups = new Map<Table, string[]>();
  for (const r of rules) {
    let lines = groups.get(r.table);
    if (!lines) groups.set(r.table, (lines = []));
    lines.push(line(r));
  }
  return groups;
}

async function restore(input: string): Promise<void> {
  if (!input) return;
  try {
    await run(['iptables-restore', '-w', '--noflush'], { input });
  } catch (e) {
    throw hostError(e);
  }
}

export interface RuleChange {
  /** append: at the end of the chain; insert: at position 1. */
  op: 'append' | 'insert';
  rule: Rule;
}

/** Adds the rules, in order, in one transaction per table. */
export async function addRules(changes: readonly RuleChange[]): Promise<void> {
  const lines = (c: RuleChange) => `${c.op === 'append' ? '-A' : '-I'} ${c.rule.chain}${c.op === 'insert' ? ' 1' : ''} ${c.rule.spec.join(' ')}`;
  const groups = new Map<Table, string[]>();
  for (const c of changes) {
    let g = groups.get(c.rule.table);
    if (!g) groups.set(c.rule.table, (g = []));
    g.push(lines(c));
  }
  await restore(restoreInput(groups));
}

/**
 * Deletes the rules by exact spec. One transaction when they all exist; when some are already
 * gone (a daemon killed half-way), each is deleted on its own and missing ones are skipped.
 */
export async function deleteRules(rules: readonly Rule[]): Promise<void> {
  if (rules.length === 0) return;
  try {
    await restore(restoreInput(group(rules, (r) => `-D ${r.chain} ${r.spec.join(' ')}`)));
  } catch {
    for (const r of rules) await run(['iptables', '-w', '-t', r.table, '-D', r.chain, ...r.spec], { allowFailure: true });
  }
}

/**
 * Creates each chain if missing and sets its content to exactly `rules`, atomically per table
 * (`:CHAIN - [0:0]` under --noflush creates or flushes only that chain). Used at daemon start:
 * whatever survived a crash is replaced by what the records say, with no moment of an empty chain.
 */
export async function rebuildChains(chains: readonly ChainContent[]): Promise<void> {
  const groups = new Map<Table, string[]>();
  for (const c of chains) {
    let lines = groups.get(c.table);
    if (!lines) groups.set(c.table, (lines = []));
    lines.push(`:${c.chain} - [0:0]`);
  }
  for (const c of chains) for (const r of c.rules) groups.get(c.table)!.push(`-A ${r.chain} ${r.spec.join(' ')}`);
  await restore(restoreInput(groups));
}

/** Inserts the rule at position 1 of its (built-in) chain unless `iptables -C` finds it. */
export async function ensureJump(rule: Rule): Promise<void> {
  const check = await run(['iptables', '-w', '-t', rule.table, '-C', rule.chain, ...rule.spec], { allowFailure: true });
  if (check.code === 0) return;
  try {
    await run(['iptables', '-w', '-t', rule.table, '-I', rule.chain, '1', ...rule.spec]);
  } catch (e) {
    throw hostError(e);
  }
}

/** The rules of one chain as iptables-save prints them (`-A CHAIN ...`); [] when it does not exist. */
export async function listChain(table: Table, chain: string): Promise<string[]> {
  const r = await run(['iptables', '-w', '-t', table, '-S', chain], { allowFailure: true });
  if (r.code !== 0) return [];
  return r.stdout.split('\n').filter((l) => l.startsWith('-A '));
}

/**
 * Removes every trace of the chains whose names start with `prefix`: each rule anywhere that jumps
 * to one (deleted by its exact text), then the chains themselves (flushed, then deleted).
 */
export async function purgeChains(prefix: string): Promise<void> {
  for (const table of TABLES) {
    const saved = await run(['iptables-save', '-t', table], { allowFailure: true });
    if (saved.code !== 0) continue;
    const lines = saved.stdout.split('\n');
    const ours = lines.filter((l) => l.startsWith(`:${prefix}`)).map((l) => l.slice(1).split(' ')[0]!);
    const jumps = lines.filter((l) => {
      if (!l.startsWith('-A ')) return false;
      const words = l.split(' ');
      return !words[1]!.startsWith(prefix) && words.some((w, i) => (words[i - 1] === '-j' || words[i - 1] === '-g') && w.startsWith(prefix));
    });
    for (const line of jumps) {
      const words = line.split(' ');
      await run(['iptables', '-w', '-t', table, '-D', ...words.slice(1)], { allowFailure: true });
    }
    for (const chain of ours) await run(['iptables', '-w', '-t', table, '-F', chain], { allowFailure: true });
    for (const chain of ours) await run(['iptables', '-w', '-t', table, '-X', chain], { allowFailure: true });
  }
}
