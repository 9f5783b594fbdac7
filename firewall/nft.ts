// Runs nft(8): `nft -c -f -` checks a ruleset against the running kernel without changing anything
// (needs CAP_NET_ADMIN like a real load); `nft -f -` loads it as one atomic transaction.
import { spawn } from 'node:child_process';
import { KeyhavenError, ErrorCodes } from './errors.js';

export interface NftOptions {
  /** The nft executable; default `nft` from PATH. */
  nft?: string;
  /** Run inside this network namespace (`ip netns exec NAME nft …`); used by the tests. */
  netns?: string;
  /** Kill nft after this long; default 30 s. */
  timeoutMs?: number;
}

export interface NftResult {
  stdout: string;
  stderr: string;
}

/** Runs nft with `args`, feeding `input` on stdin. Throws FIREWALL_NFT_FAILED unless it exits 0. */
export function runNft(args: readonly string[], input: string, options: NftOptions = {}): Promise<NftResult> {
  const nft = options.nft ?? 'nft';
  let command = nft;
  let argv = [...args];
  if (options.netns !== undefined) {
    if (!/^[A-Za-z0-9_.-]{1,64}$/.test(options.netns)) {
      throw new KeyhavenError(ErrorCodes.FIREWALL_INVALID, `netns ${JSON.stringify(options.netns)} is not a valid namespace name`);
    }
    command = 'ip';
    argv = ['netns', 'exec', options.netns, nft, ...args];
  }
  const shown = [command, ...argv].join(' ');
  return new Promise((resolve, reject) => {
    const child = spawn(command, argv, { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 30_000);
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.stdin.on('error', () => {}); // nft may exit before reading everything; the exit code tells.
    child.on('error', (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      const hint = err.code === 'ENOENT' ? ` (${command} not found: install the nftables package)` : '';
      reject(new KeyhavenError(ErrorCodes.FIREWALL_NFT_FAILED, `could not run ${shown}: ${err.message}${hint}`, { cause: err }));
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) return resolve({ stdout, stderr });
      const why = signal ? `was killed (${signal})` : `exited with ${code}`;
      reject(new KeyhavenError(ErrorCodes.FIREWALL_NFT_FAILED, `${shown} ${why}:\n${stderr.trim() || stdout.trim()}`));
    });
    child.stdin.end(input);
  });
}

/** Asks the kernel whether the ruleset would load (`nft -c`), without loading it. */
export async function nftCheck(ruleset: string, options?: NftOptions): Promise<void> {
  await runNft(['-c', '-f', '-'], ruleset, options);
}

/** Loads the ruleset in one transaction: all of it, or (on any error) none of it. */
export async function nftApply(ruleset: string, options?: NftOptions): Promise<void> {
  await runNft(['-f', '-'], ruleset, options);
}
