// Renders keyhaven.pkr.json for the version in package.json and the default provisioning steps.
//
//   node --import tsx packer/render-template.ts [--out FILE]     (npm run packer:render)
//
// writes dist/packer/keyhaven.pkr.json by default. Then, from the repository root:
//   packer validate -only=qemu.keyhaven dist/packer/keyhaven.pkr.json
//   packer build    -only=qemu.keyhaven -var base_disk_checksum=sha256:<hex> dist/packer/keyhaven.pkr.json
// Packer resolves the template's relative paths against its working directory: run it from the root.
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { VERSION } from '../lib/version.js';
import { ErrorCodes, KeyhavenError } from './errors.js';
import { defaultProvisioningSteps } from './default-steps.js';
import { keyhavenTemplate, type KeyhavenTemplateOptions } from './keyhaven-template.js';
import { renderTemplate } from './render.js';

export const REPO_ROOT = fileURLToPath(new URL('..', import.meta.url));
export const DEFAULT_TEMPLATE_PATH = 'dist/packer/keyhaven.pkr.json';


/** The template text; by default for package.json's version and the default steps. */
export function renderKeyhavenTemplate(options: Partial<KeyhavenTemplateOptions> = {}): string {
  const version = options.version ?? VERSION;
  return renderTemplate(keyhavenTemplate({ ...options, version, steps: options.steps ?? defaultProvisioningSteps(version) }));
}

function parseArgs(argv: readonly string[]): { out: string } | 'help' {
  let out = DEFAULT_TEMPLATE_PATH;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--help' || arg === '-h') return 'help';
    if (arg === '--out') {
      const value = argv[++i];
      if (!value) throw new KeyhavenError(ErrorCodes.CLI_USAGE, '--out needs a file name');
      out = value;
    } else if (arg?.startsWith('--out=')) {
      out = arg.slice('--out='.length);
      if (!out) throw new KeyhavenError(ErrorCodes.CLI_USAGE, '--out needs a file name');
    } else {
      throw new KeyhavenError(ErrorCodes.CLI_USAGE, `unknown argument ${JSON.stringify(arg)}; usage: render-template.ts [--out FILE]`);
    }
  }
  return { out };
}

/** The command: returns the exit code. Relative --out paths are relative to the working directory. */
export async function main(argv: readonly string[], cwd = process.cwd()): Promise<number> {
  try {
    const args = parseArgs(argv);
    if (args === 'help') {
      process.stdout.write(`usage: node --import tsx packer/render-template.ts [--out FILE]\n  writes the Packer template (default ${DEFAULT_TEMPLATE_PATH})\n`);
      return 0;
    }
    const text = renderKeyhavenTemplate();
    const file = resolve(cwd, args.out);
    await mkdir(dirname(file), { recursive: true });
    await writeFile(file, text);
    process.stdout.write(`${file}\n`);
    return 0;
  } catch (err) {
    if (err instanceof KeyhavenError) {
      process.stderr.write(`render-template: ${err.message} [${err.code}]\n`);
      return err.code === ErrorCodes.CLI_USAGE ? 2 : 1;
    }
    throw err;
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  process.exitCode = await main(process.argv.slice(2));
}
