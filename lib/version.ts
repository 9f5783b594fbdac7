// Keyhaven's version: package.json's, read once. lib/ sits one level below package.json both in the
// checkout and in the compiled bundle the appliance ships (appliance/build/server-bundle.ts).
import { readFileSync } from 'node:fs';

export const VERSION: string = (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version;
