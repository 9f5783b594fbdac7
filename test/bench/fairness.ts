// `npm run bench:fairness`: how long another client waits while one client sends the heaviest
// requests the default limits allow. Prints the bystander's Get latency (p50, p99, max) for each
// attack; README's security model quotes these figures.
//
//   npm run bench:fairness [-- --objects 12000 --connections 4 --rounds 5]
import { parseArgs } from 'node:util';
import { structure } from '../../server/kmip/item.js';
import { Enum, Tag } from '../../server/kmip/tables.js';
import { formatLatency, latencyDuring } from '../support/bystander.js';
import { attribute, av, createAes, field, parseResponse, request, type BatchItemSpec } from '../support/requests.js';
import { startTestServer } from '../support/server.js';

const { values } = parseArgs({
  options: {
    objects: { type: 'string', default: '12000' },
    connections: { type: 'string', default: '4' },
    rounds: { type: 'string', default: '5' },
  },
});
const objects = Number(values.objects);
const connections = Number(values.connections);
const rounds = Number(values.rounds);

const ts = await startTestServer();
try {
  const owner = await ts.client();
  const made = parseResponse(await owner.send(request([createAes(256)])));
  const uid = field<string>(made.items[0]!.payload, Tag.UniqueIdentifier)!;
  const attackerFiles = await ts.issue('attacker');
  const attackers = await Promise.all(Array.from({ length: connections }, () => ts.client(attackerFiles)));
  const t0 = performance.now();
  for (let n = 0; n < objects; n += 64) {
    await attackers[0]!.send(request(Array.from({ length: Math.min(64, objects - n) }, () => createAes(128))));
  }
  console.log(`attacker owns ${objects} objects (made in ${((performance.now() - t0) / 1000).toFixed(1)} s); default limits`);

  const attack = (req: Buffer) => () =>
    Promise.all(attackers.map(async (c) => {
      for (let i = 0; i < rounds; i++) await c.send(req);
    }));
  const locate: BatchItemSpec = { operation: Enum.Operation.Locate, payload: [attribute('Cryptographic Usage Mask', av.int(1 << 20))] };
  const rsa: BatchItemSpec = {
    operation: Enum.Operation.CreateKeyPair,
    payload: [structure(Tag.CommonTemplateAttribute, [attribute('Cryptographic Algorithm', av.enum(Enum.CryptographicAlgorithm.RSA)), attribute('Cryptographic Length', av.int(4096))])],
  };
  const scenarios: [string, () => Promise<unknown>][] = [
    ['idle (no attack, 2 s)', () => new Promise((r) => setTimeout(r, 2000))],
    [`64 unindexed Locates per request (the Locate allowance), ${connections} connections × ${rounds}`, attack(request(Array.from({ length: 64 }, () => locate)))],
    [`64 Creates per request, ${connections} connections × ${rounds}`, attack(request(Array.from({ length: 64 }, () => createAes(256))))],
    [`3 × Create Key Pair RSA-4096 per request, ${connections} connections × 1`, () => Promise.all(attackers.map((c) => c.send(request([rsa, rsa, rsa]))))],
    [`1,000 batch items (refused), ${connections} connections × ${rounds}`, attack(request(Array.from({ length: 1000 }, () => locate)))],
  ];
  for (const [name, run] of scenarios) {
    const t = performance.now();
    const l = await latencyDuring(owner, uid, run);
    console.log(`${name}: ${formatLatency(l)} (attack took ${((performance.now() - t) / 1000).toFixed(1)} s)`);
  }
  for (const c of attackers) c.close();
  owner.close();
} finally {
  await ts.stop();
}
