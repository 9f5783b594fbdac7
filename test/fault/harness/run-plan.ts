// Carries out a fault plan on a cluster. Partitions go to the cluster; kill9/stop/cont to the process
// the test says serves the node now; restart back to the test, which knows how to start its server.
// Bounded in time: a step that would start after the deadline throws instead, naming the step.
import type { Cluster } from './cluster.js';
import { describeStep, planProblems, plannedWaitMs, type FaultPlan, type FaultStep } from './fault-plan.js';
import type { ExitStatus, NodeProcess } from './processes.js';

export interface PlanHooks {
  /** The process serving node i now (the one kill9/stop/cont act on). */
  process(node: number): NodeProcess;
  /** Starts node i's server again after a kill9; resolves once it serves. */
  restart(node: number): Promise<void>;
  /** Called before each step (for t.diagnostic, or to record a history). */
  onStep?(step: FaultStep, index: number, elapsedMs: number): void;
  /** Called with each kill9's exit status. */
  onKilled?(node: number, exit: ExitStatus): void;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Runs the steps in order. deadlineMs (default: the plan's waits plus 2 s a step) bounds the whole
 * run; a plan that is not within its own bounds is refused before anything runs.
 */
export async function runFaultPlan(net: Cluster, plan: FaultPlan, hooks: PlanHooks, deadlineMs = plannedWaitMs(plan) + 2_000 * plan.steps.length): Promise<{ elapsedMs: number }> {
  const problems = planProblems(plan);
  if (problems.length) throw new Error(`refusing a fault plan outside its bounds: ${problems.join('; ')}`);
  if (plan.options.nodes !== net.nodes.length) throw new Error(`the plan is for ${plan.options.nodes} nodes, the cluster has ${net.nodes.length}`);
  const started = Date.now();
  for (const [i, step] of plan.steps.entries()) {
    const elapsed = Date.now() - started;
    if (elapsed > deadlineMs) throw new Error(`fault plan (seed ${plan.seed}) past its deadline of ${deadlineMs} ms at step ${i} (${describeStep(step)})`);
    hooks.onStep?.(step, i, elapsed);
    switch (step.op) {
      case 'partition':
        await net.partition(step.a, step.b);
        break;
      case 'one-way':
        await net.partitionOneWay(step.from, step.to);
        break;
      case 'isolate':
        await net.isolate(step.node);
        break;
      case 'heal':
        await net.heal(step.a, step.b);
        break;
      case 'heal-all':
        await net.healAll();
        break;
      case 'kill9':
        // Killed first, then told: `hooks.onKilled?.(…, await kill9())` would skip the kill without a hook.
        const exit = await hooks.process(step.node).kill9();
        hooks.onKilled?.(step.node, exit);
        break;
      case 'restart':
        await hooks.restart(step.node);
        break;
      case 'stop':
        await hooks.process(step.node).stop();
        break;
      case 'cont':
        await hooks.process(step.node).cont();
        break;
      case 'wait':
        await sleep(step.ms);
        break;
    }
  }
  return { elapsedMs: Date.now() - started };
}
