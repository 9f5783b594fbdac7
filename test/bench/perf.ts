// Native profile of the server with Linux perf, when it is installed: the V8 profile cannot see
// time spent in SQLite, OpenSSL or the kernel (TCP, WAL writes, fsync), which perf attributes.
// JavaScript frames are named through the map file node writes with --perf-basic-prof-only-functions.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';

export function findPerf(): boolean {
  return spawnSync('sh', ['-c', 'command -v perf'], { encoding: 'utf8' }).status === 0;
}

/** Node options that let perf name JIT-compiled JavaScript functions. */
export const PERF_NODE_ARGS = ['--perf-basic-prof-only-functions', '--interpreted-frames-native-stack'];

/** Starts sampling process `pid` (with call graphs) for `seconds`. */
export function startPerf(pid: number, seconds: number, out: string): ChildProcess {
  return spawn('perf', ['record', '-F', '999', '-g', '-p', String(pid), '-o', out, '--', 'sleep', String(seconds)], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
}

function report(file: string, args: string[]): string[] {
  const r = spawnSync('perf', ['report', '-i', file, '--stdio', ...args], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  return r.stdout.split('\n').filter((l) => /^\s+[0-9.]+%/.test(l));
}

/**
 * Where the server's CPU went, natively: by library (node itself, V8-generated code, SQLite,
 * libc, kernel), the heaviest symbols by self time, and inclusive time of the call paths that
 * matter here (TLS, SQLite statements and commits, HMAC/AES contexts, TCP, file writes, fsync).
 */
export function formatPerf(file: string, top = 20): string {
  const lines: string[] = [];
  lines.push('by library (self time):');
  for (const l of report(file, ['--no-children', '--sort', 'dso', '-g', 'none']).slice(0, 8)) lines.push(`  ${l.trim()}`);
  lines.push(`top ${top} symbols (self time):`);
  for (const l of report(file, ['--no-children', '--sort', 'sym', '-g', 'none']).slice(0, top)) lines.push(`  ${l.trim()}`);
  const interesting =
    /\] (sqlite3VdbeExec|sqlite3Prepare|sqlite3PagerCommitPhaseOne\S*|sqlite3WalFrames|sqlite3WalCheckpoint|node::crypto::Hmac::HmacInit|node::crypto::CipherBase::InitIv|SSL_write|SSL_read|SSL_do_handshake|tls_process_client_certificate|tls_construct_new_session_ticket|__bn_sqrx8x_reduction|bn_sqrx8x_internal|tcp_sendmsg|tcp_recvmsg|__x64_sys_fdatasync|__x64_sys_pwrite64|ext4_buffered_write_iter|__x64_sys_futex|do_epoll_wait)$/;
  lines.push('selected call paths (inclusive time):');
  for (const l of report(file, ['--children', '--sort', 'sym', '-g', 'none'])) {
    if (interesting.test(l.trim())) lines.push(`  ${l.trim().replace(/\s+/g, ' ')}`);
  }
  return lines.join('\n');
}
