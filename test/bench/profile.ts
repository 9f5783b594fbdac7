// Summarises a V8 CPU profile (node --cpu-prof) of the server: self and total time per function,
// located as file:line in the TypeScript source. The server runs through tsx, which compiles each
// module to one minified line (esbuild, keepNames) and keeps the result and its source map in its
// cache directory; positions are mapped back through those source maps.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { SourceMap, type SourceMapPayload } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
  columnNumber: number;
}

interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

export type { CallFrame };

export interface FunctionCost {
  name: string;
  /** file:line in the source, or the URL/category for Node internals and natives. */
  where: string;
  selfMs: number;
  totalMs: number;
}

export interface ProfileSummary {
  wallMs: number;
  /** Sampled time excluding (idle). */
  busyMs: number;
  idleMs: number;
  gcMs: number;
  functions: FunctionCost[];
  /** Self time grouped by source file (or by category for non-project code). */
  files: { where: string; selfMs: number }[];
}

interface CachedModule {
  code: string;
  map: SourceMapPayload;
  mtimeMs: number;
}

let tsxCache: Map<string, CachedModule[]> | undefined;

/** tsx's compile cache: source path -> compiled versions (several if the file was edited). */
function loadTsxCache(): Map<string, CachedModule[]> {
  if (tsxCache) return tsxCache;
  tsxCache = new Map();
  const euid = process.geteuid ? process.geteuid() : 0;
  const dir = join(tmpdir(), `tsx-${euid}`);
  let names: string[] = [];
  try {
    names = readdirSync(dir);
  } catch {
    return tsxCache;
  }
  for (const n of names) {
    try {
      const entry = JSON.parse(readFileSync(join(dir, n), 'utf8')) as { code?: string; map?: SourceMapPayload };
      const src = entry.map?.sources?.[0];
      if (!entry.code || !entry.map || !src) continue;
      const list = tsxCache.get(src) ?? [];
      list.push({ code: entry.code, map: entry.map, mtimeMs: statSync(join(dir, n)).mtimeMs });
      tsxCache.set(src, list);
    } catch {
      /* not a cache entry */
    }
  }
  return tsxCache;
}

/**
 * The cached compilation whose code matches the profile's frames best: V8 places a function at
 * its parameter list, so its name must end just before that column. The file may have been
 * edited (and recompiled) since; ties go to the newest compilation.
 */
function pickCompilation(path: string, frames: CallFrame[]): SourceMap | undefined {
  const candidates = loadTsxCache().get(path);
  if (!candidates?.length) return undefined;
  let best: CachedModule | undefined;
  let bestScore = -1;
  for (const c of [...candidates].sort((a, b) => b.mtimeMs - a.mtimeMs)) {
    let score = 0;
    const lines = c.code.split('\n');
    for (const f of frames) {
      if (!f.functionName || f.functionName.startsWith('(')) continue;
      const line = lines[f.lineNumber] ?? '';
      const before = line.slice(Math.max(0, f.columnNumber - f.functionName.length - 12), f.columnNumber + 1);
      if (before.includes(f.functionName)) score++;
    }
    if (score > bestScore) {
      best = c;
      bestScore = score;
    }
  }
  return best ? new SourceMap(best.map) : undefined;
}

function locator(profile: CpuProfile): (f: CallFrame) => string {
  const byUrl = new Map<string, CallFrame[]>();
  for (const n of profile.nodes) {
    const list = byUrl.get(n.callFrame.url) ?? [];
    list.push(n.callFrame);
    byUrl.set(n.callFrame.url, list);
  }
  const maps = new Map<string, SourceMap | undefined>();
  return (f) => {
    if (!f.url) return '(native)';
    if (!f.url.startsWith('file://')) return `${f.url}:${f.lineNumber + 1}`;
    const path = fileURLToPath(f.url);
    const rel = relative(ROOT, path);
    if (!maps.has(path)) {
      if (path.endsWith('.ts')) maps.set(path, pickCompilation(path, byUrl.get(f.url) ?? []));
      else maps.set(path, existsSync(`${path}.map`) ? new SourceMap(JSON.parse(readFileSync(`${path}.map`, 'utf8')) as SourceMapPayload) : undefined);
    }
    const map = maps.get(path);
    if (!map) return `${rel}:${f.lineNumber + 1}`;
    const entry = map.findEntry(f.lineNumber, f.columnNumber) as { originalLine?: number; originalSource?: string };
    if (entry.originalLine === undefined) return f.functionName === '__name' ? '(tsx keepNames helper)' : `${rel}:?`;
    // tsc's maps (a compiled build) name the source relative to the .js file.
    const src = path.endsWith('.ts') || !entry.originalSource ? rel : relative(ROOT, resolve(dirname(path), entry.originalSource.replace(/^file:\/\//, '')));
    return `${src}:${entry.originalLine + 1}`;
  };
}

/**
 * Self and total time per function. With `activeWhen`, only the samples from the first to the last
 * one whose stack holds a matching frame count (e.g. from the first request handled to the last,
 * leaving out start-up and shutdown).
 */
export function summariseProfile(file: string, activeWhen?: (f: CallFrame) => boolean): ProfileSummary {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const where = locator(profile);
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);

  let first = 0;
  let last = profile.samples.length - 1;
  if (activeWhen) {
    const active = new Map<number, boolean>();
    const isActive = (id: number): boolean => {
      let a = active.get(id);
      if (a === undefined) {
        const p = parent.get(id);
        a = activeWhen(byId.get(id)!.callFrame) || (p !== undefined && isActive(p));
        active.set(id, a);
      }
      return a;
    };
    first = profile.samples.findIndex((id) => isActive(id));
    last = profile.samples.findLastIndex((id) => isActive(id));
    if (first < 0) {
      first = 0;
      last = profile.samples.length - 1;
    }
  }

  const keyOf = new Map<number, string>();
  const info = new Map<string, FunctionCost>();
  const key = (id: number): string => {
    let k = keyOf.get(id);
    if (k) return k;
    const cf = byId.get(id)!.callFrame;
    const loc = where(cf);
    const name = cf.functionName || '(anonymous)';
    k = `${name} ${loc}`;
    keyOf.set(id, k);
    if (!info.has(k)) info.set(k, { name, where: loc, selfMs: 0, totalMs: 0 });
    return k;
  };

  let idle = 0;
  let gc = 0;
  let total = 0;
  let wall = 0;
  profile.samples.forEach((id, i) => {
    if (i < first || i > last) return;
    const dt = (profile.timeDeltas[i] ?? 0) / 1000;
    wall += dt;
    total += dt;
    const name = byId.get(id)!.callFrame.functionName;
    if (name === '(idle)') {
      idle += dt;
      return;
    }
    if (name === '(garbage collector)') gc += dt;
    info.get(key(id))!.selfMs += dt;
    const seen = new Set<string>();
    for (let n: number | undefined = id; n !== undefined; n = parent.get(n)) {
      const k = key(n);
      if (seen.has(k)) continue;
      seen.add(k);
      info.get(k)!.totalMs += dt;
    }
  });

  const files = new Map<string, number>();
  for (const f of info.values()) {
    const file = f.where.replace(/:[^:]*$/, '');
    files.set(file, (files.get(file) ?? 0) + f.selfMs);
  }
  const functions = [...info.values()].filter((f) => f.name !== '(root)');
  return {
    wallMs: activeWhen ? wall : (profile.endTime - profile.startTime) / 1000,
    busyMs: total - idle,
    idleMs: idle,
    gcMs: gc,
    functions,
    files: [...files].map(([w, selfMs]) => ({ where: w, selfMs })).sort((a, b) => b.selfMs - a.selfMs),
  };
}

/** Printable top lists: by self time, and by total time for the project's own functions. */
export function formatProfile(s: ProfileSummary, top = 25): string {
  const pct = (ms: number) => `${((100 * ms) / s.busyMs).toFixed(1).padStart(5)}%`;
  const ms = (v: number) => v.toFixed(0).padStart(7);
  const lines: string[] = [];
  lines.push(
    `profile: ${(s.wallMs / 1000).toFixed(1)} s wall, main thread busy ${(s.busyMs / 1000).toFixed(1)} s ` +
      `(${((100 * s.busyMs) / (s.busyMs + s.idleMs)).toFixed(0)}%), idle ${(s.idleMs / 1000).toFixed(1)} s, GC ${pct(s.gcMs).trim()} of busy`,
  );
  lines.push('', `top ${top} functions by self time (% of busy time):`, `${'self ms'.padStart(7)} ${'%'.padStart(6)}  function  (location)`);
  for (const f of [...s.functions].sort((a, b) => b.selfMs - a.selfMs).slice(0, top)) {
    lines.push(`${ms(f.selfMs)} ${pct(f.selfMs)}  ${f.name}  (${f.where})`);
  }
  const own = s.functions.filter((f) => /^(server|test)\//.test(f.where));
  lines.push('', `top ${top} project functions by total time (self + callees):`, `${'total ms'.padStart(8)} ${'%'.padStart(6)}  function  (location)`);
  for (const f of [...own].sort((a, b) => b.totalMs - a.totalMs).slice(0, top)) {
    lines.push(`${f.totalMs.toFixed(0).padStart(8)} ${pct(f.totalMs)}  ${f.name}  (${f.where})`);
  }
  lines.push('', 'self time by file / category:');
  for (const f of s.files.slice(0, 15)) lines.push(`${ms(f.selfMs)} ${pct(f.selfMs)}  ${f.where}`);
  return lines.join('\n');
}
