// Which operations a KMIP port serves (configuration listeners.<name>.operations; README "Ports"):
// 'all'; 'key-management', everything but the cryptographic services (6000, where vCenter fetches
// keys); 'cryptographic-services', those services plus what a client needs to find its key and learn
// the server (6003: applications that encrypt through the server and never hold a key).
import { Enum } from '../../kmip/tables.js';
import { SUPPORTED } from './supported-operations.js';

const Op = Enum.Operation;

export type PortRole = 'all' | 'key-management' | 'cryptographic-services';
export const PORT_ROLES: readonly PortRole[] = ['all', 'key-management', 'cryptographic-services'];

/** The cryptographic services (KMIP 1.2 Cryptographic Services profile) this server implements. */
export const CRYPTOGRAPHIC_SERVICES: ReadonlySet<number> = new Set([Op.Encrypt, Op.Decrypt]);
/** On the services port besides them: discovery, and finding one's key by name and reading its attributes. */
const SERVICES_PORT_EXTRAS: readonly number[] = [Op.DiscoverVersions, Op.Query, Op.Locate, Op.GetAttributes, Op.GetAttributeList];

/** A port's name (for messages) and the operations it serves (undefined: every supported one). */
export interface PortPolicy {
  readonly name: string;
  readonly operations?: ReadonlySet<number>;
}

export function portPolicy(name: string, role: PortRole): PortPolicy {
  if (role === 'all') return { name };
  const supported = SUPPORTED.map((o) => o.code);
  const operations = role === 'key-management' ? supported.filter((c) => !CRYPTOGRAPHIC_SERVICES.has(c)) : [...CRYPTOGRAPHIC_SERVICES, ...SERVICES_PORT_EXTRAS];
  return { name, operations: new Set(operations) };
}

/** Why `operation` is refused on this port, naming the kind of port that serves it; undefined when served. */
export function notServedHere(port: PortPolicy | undefined, operation: number, opName: string): string | undefined {
  if (!port?.operations || port.operations.has(operation)) return undefined;
  const where = CRYPTOGRAPHIC_SERVICES.has(operation) ? 'the encryption services port (6003 on the appliance)' : 'the key management port (6000 on the appliance)';
  return `${opName} is not served on ${port.name}: use ${where}`;
}
