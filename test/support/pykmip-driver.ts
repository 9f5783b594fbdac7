// PyKMIP (Debian python3-pykmip, run with /usr/bin/python3) as a KMIP client in tests, driven by
// test/interop/pykmip_client.py: each scenario prints its steps as JSON. Tests skip, saying why,
// when PyKMIP is absent (CI installs it: test/install-deps.sh).
import assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { ClientFiles } from './kmip-client.js';

export const PYTHON = process.env['PYKMIP_PYTHON'] ?? '/usr/bin/python3';
const DRIVER = fileURLToPath(new URL('../interop/pykmip_client.py', import.meta.url));

/** False when PyKMIP can run; else why not (the test's skip reason). */
export function pykmipMissing(what: string): string | false {
  const r = spawnSync(PYTHON, ['-c', 'import kmip'], { encoding: 'utf8' });
  if (r.error) return `${PYTHON} is not available (${r.error.message}); install python3-pykmip to run ${what}`;
  if (r.status !== 0) return `${PYTHON} has no kmip module; install the Debian package python3-pykmip to run ${what}`;
  return false;
}

export interface Step {
  step: string;
  ok: boolean;
  detail?: Record<string, unknown>;
  error?: { reason: string | null; message: string };
}

export function pykmip(scenario: string, host: string, port: number, files: ClientFiles, extra: string[] = []): Promise<Step[]> {
  const args = [DRIVER, scenario, '--host', host, '--port', String(port), '--cert', files.cert, '--key', files.key, '--ca', files.ca, ...extra];
  return new Promise((resolve, reject) => {
    execFile(PYTHON, args, { timeout: 60_000 }, (err, stdout, stderr) => {
      if (err) return reject(new Error(`pykmip_client.py ${scenario} failed: ${err.message}\n${stderr}`));
      try {
        resolve((JSON.parse(stdout) as { steps: Step[] }).steps);
      } catch {
        reject(new Error(`pykmip_client.py ${scenario} printed no JSON:\n${stdout}\n${stderr}`));
      }
    });
  });
}

/** The detail of step `name`, which must have succeeded. */
export function stepOk<T = Record<string, unknown>>(steps: Step[], name: string): T {
  const s = steps.find((x) => x.step === name);
  assert.ok(s, `no step "${name}" in ${JSON.stringify(steps)}`);
  assert.equal(s.ok, true, `${name} failed: ${JSON.stringify(s.error)}`);
  return s.detail as T;
}
