// Fault harness: several processes, each in its own network namespace, partitioned, killed and paused
// on a seeded random schedule. Needs root, `ip`, `bridge`, `nft`, `sysctl` (skip as
// test/fault/harness.test.ts does, with needsRootAnd from test/firewall/helpers/sys.ts).
//
//   const net = await Cluster.create({ nodes: 3 });          // 2..8 nodes
//   t.after(() => net.dispose());                             // kills every process, deletes everything
//   net.nodes[i].ns, .address (10.213.X.(i+1)), .iface
//   const p = net.nodes[0].spawn([process.execPath, '--import', 'tsx', 'server/run.ts', …], { ENV: 'x' });
//                                                             // env is added to process.env; cwd is the repo
//   await p.waitForOutput(/listening/);                       // stdout/stderr go to p.stdoutFile / p.stderrFile
//   await p.kill9(); await p.stop(); await p.cont(); await p.terminate(graceMs); await p.exited;  // {code, signal}
//   p.running; p.procState();                                 // 'T' while stopped
//   await net.nodes[1].run(['ss', '-tn']);                    // a command to completion, in the namespace
//   await net.partition(0, 1); net.partitionOneWay(0, 1); net.isolate(2); net.heal(0, 1); net.healAll();
//   net.cuts(); net.reaches(0, 1); await net.verifyCuts();    // the cuts in force; the kernel's tables agree
//
// echo-server.ts, echo-probe.ts and echo-ticker.ts are stand-ins (see harness.test.ts for their use).
//
//   const plan = faultPlan(faultSeed(t), { nodes: 3, maxSteps: 30, totalWaitMs: 20_000 });  // seed printed;
//   t.diagnostic(describePlan(plan));                         // KEYHAVEN_FAULT_SEED=n replays it
//   await runFaultPlan(net, plan, { process: (i) => servers[i], restart: async (i) => { servers[i] = … } });
//
// Semantics to rely on:
// - Nodes reach each other and nothing else: no default route, IPv4 only (IPv6 off on the links; ::1
//   works). The bridge is in a namespace of its own (see cluster.ts for why). Each node has its own
//   ports: every node's server can listen on 6002.
// - A cut drops packets on the receiver's input, by source address (partitions.ts): a partition is
//   silence, never a refusal. partitionOneWay(a, b): a's packets never reach b, b's reach a; so no TCP
//   connection can be opened either way, and on an open one only b → a bytes are delivered (slowly,
//   unacknowledged). Every change is read back from the nft tables before the call resolves. All calls
//   are idempotent.
// - spawn() puts the process in its own process group: kill9/stop/cont/terminate signal the group
//   (a server's children too). stop() resolves once the kernel reports it stopped. A stopped server's
//   kernel still completes TCP handshakes (the listen backlog), it just never answers.
// - A plan ends healed, with every process continued and restarted, so a test can then check that
//   the cluster converges. Plans are bounded (steps, each wait, all waits, processes down at once) and
//   runFaultPlan bounds the run by a deadline.
// - Everything is named khf-<4 hex>-…; sweep() (call it in before()) removes what a crashed run left,
//   never a cluster whose owner process still runs. KEYHAVEN_FAULT_KEEP_LOGS=1 keeps process logs.
// - Not here yet: a history checker (it depends on the mirroring semantics).
export { Cluster, checkRangeFree, rangeClashes, RANGE, MIN_NODES, MAX_NODES, type ClusterNode, type ClusterOptions } from './cluster.js';
export { Partitions, TABLE, type Cut, type NodeRef } from './partitions.js';
export { NodeProcess, until, type ExitStatus, type SpawnOptions } from './processes.js';
export {
  faultPlan, faultSeed, drawSteps, planOptions, planProblems, plannedWaitMs, describePlan, describeStep, FAULT_OPS,
  type FaultPlan, type FaultPlanOptions, type FaultStep, type FaultOp,
} from './fault-plan.js';
export { runFaultPlan, type PlanHooks } from './run-plan.js';
export { sweep, leftovers, newPrefix, namespacesWith, pidsIn, pidsInNamespaces, PREFIX, type Leftovers } from './leftovers.js';
