// KMIP 1.4 §4.26 Discover Versions (since 1.1): the versions both sides support, in the client's
// order; without a list from the client, every version the server supports, highest first.
import { readProtocolVersion, versionItem } from '../../kmip/message.js';
import { StructReader } from '../../kmip/reader.js';
import { Tag } from '../../kmip/tables.js';
import { isSupported, SUPPORTED_VERSIONS, type ProtocolVersion } from '../../kmip/versions.js';
import { operation } from '../pipeline/operation.js';

export interface DiscoverVersionsRequest {
  /** The client's versions, in its order of preference. */
  offered: ProtocolVersion[];
}

export const discoverVersions = operation<DiscoverVersionsRequest>({
  parse(p) {
    const offered = p.allStructures(Tag.ProtocolVersion).map((v) => readProtocolVersion(new StructReader(v, 'Protocol Version')));
    p.done();
    return { offered };
  },
  run({ offered }) {
    const versions = offered.length === 0 ? SUPPORTED_VERSIONS : offered.filter(isSupported);
    return versions.map(versionItem);
  },
});
