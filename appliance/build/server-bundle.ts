// Stage 2: the key server as the appliance runs it — JavaScript compiled by tsc (tsconfig.build.json),
// the `keyhaven` launcher, package.json and the production dependencies only — packed as
// dist/keyhaven-server-<version>.tgz (npm pack layout, package/…), the tarball the provisioning steps
// install under /opt/keyhaven (packer/default-steps.ts).
//
// The production node_modules (better-sqlite3 compiled for Node's ABI) depend only on the lockfile
// and the Node ABI, so they are cached under dist/cache like the base layer.
import { createHash } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { serverTarball } from '../../packer/default-steps.js';
import { runCommand } from './run-command.js';

export interface ServerBundleOptions {
  readonly repoRoot: string;
  readonly version: string;
  readonly workDir: string;
  readonly cacheDir: string;
  readonly logFile: string;
}

export interface ServerBundle {
  readonly tarball: string;
  readonly modulesCached: boolean;
}

/**
 * Build leftovers of native modules that are not needed to load them (sources, object files,
 * the SQLite amalgamation better-sqlite3 compiles from).
 */
const PRUNE = ['better-sqlite3/deps', 'better-sqlite3/src', 'better-sqlite3/build/Release/obj.target', 'better-sqlite3/build/Release/.deps', 'better-sqlite3/build/Release/test_extension.node', 'better-sqlite3/build/deps', 'better-sqlite3/build/Release/obj', 'better-sqlite3/build/Release/sqlite3.a'];

async function productionModules(o: ServerBundleOptions): Promise<{ dir: string; cached: boolean }> {
  const lock = readFileSync(join(o.repoRoot, 'package-lock.json'));
  // The Debian 13 nodejs package is Node 20 (ABI 115): the build must run the same major.
  const key = createHash('sha256').update(lock).update(`${process.versions.modules}/${process.arch}/${process.platform}`).digest('hex').slice(0, 16);
  const dir = join(o.cacheDir, `node-modules-${key}`);
  if (existsSync(join(dir, 'node_modules'))) return { dir: join(dir, 'node_modules'), cached: true };
  const partial = `${dir}.partial`;
  rmSync(partial, { recursive: true, force: true });
  mkdirSync(partial, { recursive: true });
  cpSync(join(o.repoRoot, 'package.json'), join(partial, 'package.json'));
  cpSync(join(o.repoRoot, 'package-lock.json'), join(partial, 'package-lock.json'));
  await runCommand('npm', ['ci', '--omit=dev', '--no-audit', '--no-fund', '--no-update-notifier'], { cwd: partial, logFile: o.logFile });
  for (const p of PRUNE) rmSync(join(partial, 'node_modules', p), { recursive: true, force: true });
  rmSync(join(partial, 'node_modules/.package-lock.json'), { force: true });
  renameSync(partial, dir);
  for (const f of readdirSync(o.cacheDir)) if (/^node-modules-[0-9a-f]+$/.test(f) && join(o.cacheDir, f) !== dir) rmSync(join(o.cacheDir, f), { recursive: true, force: true });
  return { dir: join(dir, 'node_modules'), cached: false };
}

export async function buildServerBundle(o: ServerBundleOptions): Promise<ServerBundle> {
  const pkgDir = join(o.workDir, 'server', 'package');
  rmSync(join(o.workDir, 'server'), { recursive: true, force: true });
  mkdirSync(pkgDir, { recursive: true });
  const tsc = join(o.repoRoot, 'node_modules/typescript/bin/tsc');
  await runCommand(process.execPath, [tsc, '-p', join(o.repoRoot, 'tsconfig.build.json'), '--outDir', pkgDir], { logFile: o.logFile });
  cpSync(join(o.repoRoot, 'appliance/bin/keyhaven.js'), join(pkgDir, 'appliance/bin/keyhaven.js'));
  cpSync(join(o.repoRoot, 'README.md'), join(pkgDir, 'README.md'));
  const pkg = JSON.parse(readFileSync(join(o.repoRoot, 'package.json'), 'utf8')) as Record<string, unknown>;
  // Only what running needs: no scripts (they refer to sources that are not shipped), no devDependencies.
  const shipped = { name: pkg.name, version: o.version, description: pkg.description, license: pkg.license, private: true, type: pkg.type, bin: pkg.bin, dependencies: pkg.dependencies };
  writeFileSync(join(pkgDir, 'package.json'), `${JSON.stringify(shipped, null, 2)}\n`);
  const modules = await productionModules(o);
  cpSync(modules.dir, join(pkgDir, 'node_modules'), { recursive: true, verbatimSymlinks: true });

  const tarball = join(o.repoRoot, serverTarball(o.version));
  mkdirSync(join(tarball, '..'), { recursive: true });
  // Written aside and renamed: another build reading the tarball never sees half of it.
  const partial = join(o.workDir, 'server', 'package.tgz');
  await runCommand('tar', ['--sort=name', '--owner=0', '--group=0', '--numeric-owner', '--mode=go-w', '-czf', partial, '-C', join(o.workDir, 'server'), 'package'], { logFile: o.logFile });
  renameSync(partial, tarball);
  return { tarball, modulesCached: modules.cached };
}
