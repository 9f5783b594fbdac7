// Tests that need root (network namespaces, nft, a real sshd, another account to attack from, an
// image build) skip when run as another user, and say so loudly: a SKIPPED line on standard error
// as the file loads, the reason in the test's skip, and test/run-tests.js lists every skip at the
// end. CI runs as root (and with CI=true): there a root-only test never skips; a run that is not
// root fails at once instead of passing with these tests unrun.

/** False as root; else why the test is skipped (announced on standard error). */
export function rootOnly(needs: string): string | false {
  if (process.getuid?.() === 0) return false;
  const reason = `needs root: ${needs} (run the tests as root, as CI does)`;
  if (process.env['CI']) throw new Error(`CI=true but the tests do not run as root: ${reason}`);
  process.stderr.write(`SKIPPED (not root): ${process.argv[1] ?? 'a test file'}: ${reason}\n`);
  return reason;
}
