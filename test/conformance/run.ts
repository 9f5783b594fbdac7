// `npm run conformance -- --dir DIR`: runs every KMIP test case XML file under DIR against a fresh
// Keyhaven server (or, with --port and client files, against any KMIP server) and ends with the
// line "N passed, N failed". Skipped cases are counted and listed with the reason. With --dump FILE,
// every response is also written to FILE (dump.ts), to compare two runs with diff.
import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import { KmipTestClient, type ClientFiles } from '../support/kmip-client.js';
import { startTestServer } from '../support/server.js';
import { ResponseDump } from './dump.js';
import { formatResult, isMandatory, listCases, runCases, scenarioOf } from './runner.js';

const DEFAULT_DIR = fileURLToPath(new URL('../data/oasis-testcases', import.meta.url));

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      dir: { type: 'string' },
      filter: { type: 'string' },
      mandatory: { type: 'boolean' },
      port: { type: 'string' },
      ca: { type: 'string' },
      cert: { type: 'string' },
      key: { type: 'string' },
      quiet: { type: 'boolean' },
      dump: { type: 'string' },
    },
  });
  const dir = resolve(values.dir ?? DEFAULT_DIR);
  let files = listCases(dir);
  if (values.filter) files = files.filter((f) => f.includes(values.filter!));
  if (values.mandatory) files = files.filter(isMandatory);
  if (files.length === 0) {
    console.error(`no test case XML files under ${dir}`);
    return 2;
  }

  let connect: (file: string) => Promise<KmipTestClient>;
  let stop = async () => {};
  let setClock: ((seconds: number) => void) | undefined;
  if (values.port) {
    if (!values.ca || !values.cert || !values.key) {
      console.error('--port needs --ca, --cert and --key (the client certificate files)');
      return 2;
    }
    const files = { ca: values.ca, cert: values.cert, key: values.key };
    connect = () => KmipTestClient.connect(Number(values.port), files);
  } else {
    // Each case runs as its own client identity, so objects a failed case leaves behind are
    // invisible to the others (objects belong to the identity that made them).
    let clock = Date.now();
    setClock = (seconds) => (clock = seconds * 1000);
    const ts = await startTestServer({}, { clock: () => clock });
    const identities = new Map<string, ClientFiles>();
    connect = async (file) => {
      const key = scenarioOf(file);
      let id = identities.get(key);
      if (!id) {
        id = await ts.issue(`case-${identities.size + 1}`);
        identities.set(key, id);
      }
      return ts.client(id);
    };
    stop = () => ts.stop();
  }

  const dump = values.dump ? new ResponseDump(dir) : undefined;
  const summary = await runCases(files, connect, (r) => {
    if (!values.quiet || r.status !== 'pass') console.log(formatResult(r, dir));
  }, setClock, dump && ((file, exchange, start, response) => dump.response(file, exchange, start, response)));
  await stop();
  if (dump) writeFileSync(values.dump!, dump.text());
  const skips = summary.results.filter((r) => r.status === 'skip');
  if (skips.length > 0) {
    console.log(`${skips.length} skipped:`);
    for (const s of skips) console.log(`  ${formatResult(s, dir)}`);
  }
  console.log(`${summary.passed} passed, ${summary.failed} failed`);
  return summary.failed > 0 ? 1 : 0;
}

process.exitCode = await main();
