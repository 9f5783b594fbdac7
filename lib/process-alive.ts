// Whether a process with this pid exists (signal 0 checks without signalling; EPERM means it exists
// under another user). Used to tell a lock or a scratch directory left by a killed run from a live one's.
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
