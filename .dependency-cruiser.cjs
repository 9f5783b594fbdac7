// The direction of imports (README, Layout): the image side uses the server through its two entries
// only (server/index.ts, light; server/run.ts, the running server and its store), the server never imports the image side, the KMIP codec is pure, lib/ is the shared core,
// and there are no cycles. `npm test` runs this; test/boundaries.test.ts proves it fails on a wrong import.
/** The image side's folders: one list, so that a new one is one edit. */
const IMAGE = '(appliance|firewall|ova|packer)';

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'image-uses-server-index-only',
      comment: 'appliance/, firewall/, ova/, packer/ (and their tests) use the key server through server/index.ts and server/run.ts only',
      severity: 'error',
      from: { path: `^(test/)?${IMAGE}/` },
      to: { path: '^server/', pathNot: '^server/(index|run)\\.ts$' },
    },
    {
      name: 'server-knows-no-image',
      comment: 'the key server never imports the image side',
      severity: 'error',
      from: { path: '^server/' },
      to: { path: `^${IMAGE}/` },
    },
    {
      name: 'kmip-is-pure',
      comment: 'server/kmip imports nothing but Buffer and the shared core (the table generator is a build tool)',
      severity: 'error',
      from: { path: '^server/kmip/', pathNot: '^server/kmip/generate-tables\\.ts$' },
      to: { pathNot: '^(server/kmip/|lib/|(node:)?buffer$)' },
    },
    {
      name: 'lib-is-the-core',
      comment: 'lib/ is used by every part and uses none of them',
      severity: 'error',
      from: { path: '^lib/' },
      to: { path: `^(server|test|${IMAGE.slice(1, -1)})/` },
    },
    {
      name: 'no-cycles',
      severity: 'error',
      from: {},
      to: { circular: true },
    },
    {
      name: 'resolvable',
      comment: 'an import that resolves to nothing would hide a broken boundary',
      severity: 'error',
      from: {},
      to: { couldNotResolve: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^(node_modules|dist|build|test-output)/' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    // ESM packages (tsx) resolve through their "exports" import condition.
    enhancedResolveOptions: { exportsFields: ['exports'], conditionNames: ['import', 'node', 'default'] },
  },
};
