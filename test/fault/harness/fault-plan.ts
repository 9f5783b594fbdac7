// Randomized fault schedules. A plan is a list of steps for nodes 0..n-1, drawn from a seed through
// fast-check (test/support/property.ts's Draw), so a seed replays the same plan. Bounded: at most
// maxSteps steps, each wait at most maxWaitMs, all waits together at most totalWaitMs, at most maxDown
// processes killed or stopped at once. A plan ends with every stopped process continued, every killed
// one restarted and every cut healed, so that a test can then wait for the cluster to converge.
import type { TestContext } from 'node:test';
import { randomInt } from 'node:crypto';
import fc from 'fast-check';
import { drawFrom, type Draw } from '../../support/property.js';

export type FaultStep =
  | { op: 'partition'; a: number; b: number }
  | { op: 'one-way'; from: number; to: number }
  | { op: 'isolate'; node: number }
  | { op: 'heal'; a: number; b: number }
  | { op: 'heal-all' }
  | { op: 'kill9'; node: number }
  | { op: 'restart'; node: number }
  | { op: 'stop'; node: number }
  | { op: 'cont'; node: number }
  | { op: 'wait'; ms: number };

export type FaultOp = FaultStep['op'];
export const FAULT_OPS: readonly FaultOp[] = ['partition', 'one-way', 'isolate', 'heal', 'heal-all', 'kill9', 'restart', 'stop', 'cont', 'wait'];

export interface FaultPlanOptions {
  nodes: number;
  /** Default 24; 2..200 (the closing steps count). */
  maxSteps?: number;
  /** Longest single wait, default 1000 ms. */
  maxWaitMs?: number;
  /** All waits together, default 10 s. */
  totalWaitMs?: number;
  /** Processes killed or stopped at the same time, default nodes - 1. */
  maxDown?: number;
  /** The ops drawn from (the closing cont/restart/heal-all are always allowed); default all. */
  ops?: readonly FaultOp[];
}

export interface FaultPlan {
  seed: number;
  options: Required<FaultPlanOptions>;
  steps: FaultStep[];
}

/** Seed from KEYHAVEN_FAULT_SEED, else a new one; printed with the replay line. */
export function faultSeed(t?: TestContext): number {
  const env = process.env['KEYHAVEN_FAULT_SEED'];
  const seed = env !== undefined && env !== '' ? Number(env) : randomInt(2 ** 31);
  if (!Number.isSafeInteger(seed)) throw new Error(`KEYHAVEN_FAULT_SEED=${env} is not an integer`);
  t?.diagnostic(`fault seed ${seed} (replay: KEYHAVEN_FAULT_SEED=${seed})`);
  return seed;
}

export function planOptions(o: FaultPlanOptions): Required<FaultPlanOptions> {
  const r: Required<FaultPlanOptions> = {
    nodes: o.nodes,
    maxSteps: o.maxSteps ?? 24,
    maxWaitMs: o.maxWaitMs ?? 1000,
    totalWaitMs: o.totalWaitMs ?? 10_000,
    maxDown: o.maxDown ?? o.nodes - 1,
    ops: o.ops ?? FAULT_OPS,
  };
  const bad = (what: string) => new Error(`fault plan options: ${what} (${JSON.stringify(r)})`);
  if (!Number.isInteger(r.nodes) || r.nodes < 2 || r.nodes > 8) throw bad('nodes must be 2..8');
  if (!Number.isInteger(r.maxSteps) || r.maxSteps < 2 || r.maxSteps > 200) throw bad('maxSteps must be 2..200');
  if (!Number.isInteger(r.maxWaitMs) || !Number.isInteger(r.totalWaitMs) || r.maxWaitMs < 1 || r.totalWaitMs < 0 || r.totalWaitMs > 600_000) throw bad('waits are whole ms, each 1 ms or more, at most 10 minutes in all');
  if (!Number.isInteger(r.maxDown) || r.maxDown < 0 || r.maxDown > r.nodes) throw bad('maxDown must be 0..nodes');
  return r;
}

/** The plan for this seed: the same seed and options always give the same plan. */
export function faultPlan(seed: number, options: FaultPlanOptions): FaultPlan {
  const opts = planOptions(options);
  const draw = drawFrom(fc.sample(fc.gen(), { numRuns: 1, seed })[0]!);
  return { seed, options: opts, steps: drawSteps(draw, opts) };
}

type Status = 'up' | 'stopped' | 'down';

/** The steps of a plan, from the draws (also usable inside a fast-check property with drawFrom(g)). */
export function drawSteps(draw: Draw, o: Required<FaultPlanOptions>): FaultStep[] {
  const steps: FaultStep[] = [];
  const status: Status[] = Array.from({ length: o.nodes }, () => 'up');
  let waitLeft = o.totalWaitMs;
  const faulty = () => status.filter((s) => s !== 'up').length;
  const nodesIn = (...s: Status[]) => status.flatMap((x, i) => (s.includes(x) ? [i] : []));
  const twoNodes = (): [number, number] => {
    const a = draw.int(o.nodes);
    return [a, (a + 1 + draw.int(o.nodes - 1)) % o.nodes];
  };
  // Steps still needed to close: one per stopped or killed process, and the final heal-all.
  const closing = () => faulty() + 1;
  // Waits drawn three times as often: faults need time to show.
  const weighted: FaultOp[] = o.ops.flatMap((op) => (op === 'wait' ? [op, op, op] : [op]));
  for (let guard = 0; steps.length + closing() < o.maxSteps && guard < 10 * o.maxSteps; guard++) {
    const op = draw.pick(weighted);
    const room = o.maxSteps - steps.length - closing(); // >= 1 here
    switch (op) {
      case 'partition': {
        const [a, b] = twoNodes();
        steps.push({ op, a, b });
        break;
      }
      case 'one-way': {
        const [from, to] = twoNodes();
        steps.push({ op, from, to });
        break;
      }
      case 'heal': {
        const [a, b] = twoNodes();
        steps.push({ op, a, b });
        break;
      }
      case 'isolate':
        steps.push({ op, node: draw.int(o.nodes) });
        break;
      case 'heal-all':
        steps.push({ op });
        break;
      case 'kill9':
      case 'stop': {
        const candidates = op === 'kill9' ? nodesIn('up', 'stopped') : nodesIn('up');
        if (candidates.length === 0) break;
        const node = draw.pick(candidates);
        // Taking a running process down adds a closing step: it needs room for both, within maxDown.
        if (status[node] === 'up' && (room < 2 || faulty() >= o.maxDown)) break;
        status[node] = op === 'kill9' ? 'down' : 'stopped';
        steps.push({ op, node });
        break;
      }
      case 'restart':
      case 'cont': {
        const candidates = nodesIn(op === 'restart' ? 'down' : 'stopped');
        if (candidates.length === 0) break;
        const node = draw.pick(candidates);
        status[node] = 'up';
        steps.push({ op, node });
        break;
      }
      case 'wait': {
        if (waitLeft < 1) break;
        const ms = 1 + draw.int(Math.min(o.maxWaitMs, waitLeft));
        waitLeft -= ms;
        steps.push({ op, ms });
        break;
      }
    }
  }
  status.forEach((s, node) => {
    if (s === 'stopped') steps.push({ op: 'cont', node });
    if (s === 'down') steps.push({ op: 'restart', node });
  });
  steps.push({ op: 'heal-all' });
  return steps;
}

/** Everything wrong with a plan (empty when it is within its bounds and names only its nodes). */
export function planProblems(plan: FaultPlan): string[] {
  const o = plan.options;
  const problems: string[] = [];
  const status: Status[] = Array.from({ length: o.nodes }, () => 'up');
  const node = (i: number, at: number) => {
    if (!Number.isInteger(i) || i < 0 || i >= o.nodes) problems.push(`step ${at}: no node ${i}`);
  };
  let waited = 0;
  if (plan.steps.length > o.maxSteps) problems.push(`${plan.steps.length} steps, more than ${o.maxSteps}`);
  plan.steps.forEach((s, at) => {
    if (!o.ops.includes(s.op) && !['cont', 'restart', 'heal-all'].includes(s.op)) problems.push(`step ${at}: ${s.op} is not allowed`);
    switch (s.op) {
      case 'partition':
      case 'heal':
        node(s.a, at), node(s.b, at);
        if (s.a === s.b) problems.push(`step ${at}: ${s.op} of node ${s.a} with itself`);
        break;
      case 'one-way':
        node(s.from, at), node(s.to, at);
        if (s.from === s.to) problems.push(`step ${at}: one-way from node ${s.from} to itself`);
        break;
      case 'isolate':
        node(s.node, at);
        break;
      case 'kill9':
      case 'stop':
      case 'restart':
      case 'cont': {
        node(s.node, at);
        const from = status[s.node];
        const ok = { kill9: from !== 'down', stop: from === 'up', restart: from === 'down', cont: from === 'stopped' }[s.op];
        if (!ok) problems.push(`step ${at}: ${s.op} of node ${s.node}, which is ${from}`);
        status[s.node] = { kill9: 'down', stop: 'stopped', restart: 'up', cont: 'up' }[s.op] as Status;
        if (status.filter((x) => x !== 'up').length > o.maxDown) problems.push(`step ${at}: more than ${o.maxDown} processes down`);
        break;
      }
      case 'wait':
        if (!(Number.isInteger(s.ms) && s.ms >= 1 && s.ms <= o.maxWaitMs)) problems.push(`step ${at}: wait ${s.ms} ms, not 1..${o.maxWaitMs}`);
        waited += s.ms;
        break;
      case 'heal-all':
        break;
      default:
        problems.push(`step ${at}: unknown step ${JSON.stringify(s)}`);
    }
  });
  if (waited > o.totalWaitMs) problems.push(`waits ${waited} ms in all, more than ${o.totalWaitMs}`);
  if (plan.steps.at(-1)?.op !== 'heal-all') problems.push('does not end with heal-all');
  status.forEach((s, i) => s !== 'up' && problems.push(`ends with node ${i} ${s}`));
  return problems;
}

/** Sum of the plan's waits. */
export const plannedWaitMs = (plan: FaultPlan): number => plan.steps.reduce((ms, s) => ms + (s.op === 'wait' ? s.ms : 0), 0);

export function describeStep(s: FaultStep): string {
  switch (s.op) {
    case 'partition':
    case 'heal':
      return `${s.op} ${s.a} ${s.b}`;
    case 'one-way':
      return `one-way ${s.from} -/-> ${s.to}`;
    case 'wait':
      return `wait ${s.ms} ms`;
    case 'heal-all':
      return 'heal-all';
    default:
      return `${s.op} ${s.node}`;
  }
}

export const describePlan = (plan: FaultPlan): string =>
  `seed ${plan.seed}, ${plan.steps.length} steps, ${plannedWaitMs(plan)} ms of waits: ${plan.steps.map(describeStep).join('; ')}`;
