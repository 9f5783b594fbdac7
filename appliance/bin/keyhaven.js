#!/usr/bin/env node
// Entry point of `keyhaven` (package.json "bin"). In a source checkout it runs the TypeScript
// through tsx, so `npx keyhaven …` needs no build step; the appliance image ships compiled
// JavaScript next to this file instead, and that is loaded directly.
import { existsSync } from 'node:fs';

const source = new URL('../cli.ts', import.meta.url);
let cli;
if (existsSync(source)) {
  const { register } = await import('tsx/esm/api');
  register();
  cli = await import(source.href);
} else {
  cli = await import(new URL('../cli.js', import.meta.url).href);
}
process.exitCode = await cli.main(process.argv.slice(2));
