// KMIP 1.4 §4.26 Discover Versions (since 1.1): the versions both sides support, in the client's
// order; without a list from the client, every version the server supports, highest first.
import type { Item } from '../kmip/item.js';
import { readProtocolVersion, versionItem } from '../kmip/message.js';
import { StructReader } from '../kmip/reader.js';
import { Tag } from '../kmip/tables.js';
import { isSupported, SUPPORTED_VERSIONS } from '../kmip/versions.js';
import type { OpContext } from './context.js';

export function discoverVersions(p: StructReader, _ctx: OpContext): Item[] {
  const offered = p.all(Tag.ProtocolVersion, 0x01).map((v) => readProtocolVersion(new StructReader(v, 'Protocol Version')));
  p.done();
  const versions = offered.length === 0 ? SUPPORTED_VERSIONS : offered.filter(isSupported);
  return versions.map(versionItem);
}
