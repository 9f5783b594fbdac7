// The KMIP 1.x attributes (KMIP 1.4 §3): value type, who sets them, who may change or delete them,
// whether several instances are allowed, and the version that introduced them. Ops consult this
// table instead of hard-coding rules per operation.
import type { ItemTypeCode } from './item.js';
import { Tag, type EnumId } from './tables.js';

export type Setter = 'server' | 'client' | 'either';

/**
 * When a client may modify an attribute (KMIP 1.4 §3, the "Modifiable by client" rows and the
 * per-attribute state rules, e.g. §3.24 Activation Date only while Pre-Active).
 */
export type ClientModify = 'never' | 'always' | 'pre-active' | 'pre-active-or-active';

export interface AttributeSpec {
  name: string;
  /** KMIP 1.4 section. */
  section: string;
  /** Minor version of KMIP 1.x that introduced it. */
  minor: number;
  /** Type of the Attribute Value; custom attributes may hold any type (KMIP 1.4 §3.39). */
  type: ItemTypeCode | 'any';
  enumId?: EnumId;
  /** For structures: the fields allowed inside, with their types; required ones flagged. */
  fields?: { tag: number; type: ItemTypeCode; required?: boolean; enumId?: EnumId }[];
  multi: boolean;
  /** Who supplies the value at Create/Register (server-only attributes are refused from clients). */
  setBy: Setter;
  clientModify: ClientModify;
  clientDelete: boolean;
}

const S = 0x01, INT = 0x02, LONG = 0x03, ENUM = 0x05, BOOL = 0x06, TEXT = 0x07, BYTES = 0x08, DATE = 0x09, INTERVAL = 0x0a;

function a(spec: Omit<AttributeSpec, 'multi' | 'clientDelete'> & Partial<Pick<AttributeSpec, 'multi' | 'clientDelete'>>): AttributeSpec {
  return { multi: false, clientDelete: false, ...spec };
}

const serverOnly = { setBy: 'server', clientModify: 'never' } as const;

export const ATTRIBUTES: readonly AttributeSpec[] = [
  a({ name: 'Unique Identifier', section: '3.1', minor: 0, type: TEXT, ...serverOnly }),
  a({
    name: 'Name', section: '3.2', minor: 0, type: S, multi: true, setBy: 'client', clientModify: 'always', clientDelete: true,
    fields: [
      { tag: Tag.NameValue, type: TEXT, required: true },
      { tag: Tag.NameType, type: ENUM, required: true, enumId: 'NameType' },
    ],
  }),
  a({ name: 'Object Type', section: '3.3', minor: 0, type: ENUM, enumId: 'ObjectType', ...serverOnly }),
  a({ name: 'Cryptographic Algorithm', section: '3.4', minor: 0, type: ENUM, enumId: 'CryptographicAlgorithm', setBy: 'either', clientModify: 'never' }),
  a({ name: 'Cryptographic Length', section: '3.5', minor: 0, type: INT, setBy: 'either', clientModify: 'never' }),
  a({
    name: 'Cryptographic Parameters', section: '3.6', minor: 0, type: S, multi: true, setBy: 'client', clientModify: 'always', clientDelete: true,
    fields: [
      { tag: Tag.BlockCipherMode, type: ENUM, enumId: 'BlockCipherMode' },
      { tag: Tag.PaddingMethod, type: ENUM, enumId: 'PaddingMethod' },
      { tag: Tag.HashingAlgorithm, type: ENUM, enumId: 'HashingAlgorithm' },
      { tag: Tag.KeyRoleType, type: ENUM, enumId: 'KeyRoleType' },
      { tag: Tag.DigitalSignatureAlgorithm, type: ENUM, enumId: 'DigitalSignatureAlgorithm' },
      { tag: Tag.CryptographicAlgorithm, type: ENUM, enumId: 'CryptographicAlgorithm' },
      { tag: Tag.RandomIV, type: BOOL },
      { tag: Tag.IVLength, type: INT },
      { tag: Tag.TagLength, type: INT },
      { tag: Tag.FixedFieldLength, type: INT },
      { tag: Tag.InvocationFieldLength, type: INT },
      { tag: Tag.CounterLength, type: INT },
      { tag: Tag.InitialCounterValue, type: INT },
      { tag: Tag.SaltLength, type: INT },
      { tag: Tag.MaskGenerator, type: ENUM, enumId: 'MaskGenerator' },
      { tag: Tag.MaskGeneratorHashingAlgorithm, type: ENUM, enumId: 'HashingAlgorithm' },
      { tag: Tag.PSource, type: BYTES },
      { tag: Tag.TrailerField, type: INT },
    ],
  }),
  a({
    name: 'Cryptographic Domain Parameters', section: '3.7', minor: 0, type: S, setBy: 'client', clientModify: 'never',
    fields: [
      { tag: Tag.Qlength, type: INT },
      { tag: Tag.RecommendedCurve, type: ENUM, enumId: 'RecommendedCurve' },
    ],
  }),
  a({ name: 'Certificate Type', section: '3.8', minor: 0, type: ENUM, enumId: 'CertificateType', ...serverOnly }),
  a({ name: 'Certificate Length', section: '3.9', minor: 1, type: INT, ...serverOnly }),
  a({
    name: 'X.509 Certificate Identifier', section: '3.10', minor: 1, type: S, ...serverOnly,
    fields: [
      { tag: Tag.IssuerDistinguishedName, type: BYTES },
      { tag: Tag.CertificateSerialNumber, type: BYTES },
    ],
  }),
  a({
    name: 'X.509 Certificate Subject', section: '3.11', minor: 1, type: S, ...serverOnly,
    fields: [
      { tag: Tag.SubjectDistinguishedName, type: BYTES },
      { tag: Tag.SubjectAlternativeName, type: BYTES },
    ],
  }),
  a({
    name: 'X.509 Certificate Issuer', section: '3.12', minor: 1, type: S, ...serverOnly,
    fields: [
      { tag: Tag.IssuerDistinguishedName, type: BYTES },
      { tag: Tag.IssuerAlternativeName, type: BYTES },
    ],
  }),
  a({
    name: 'Certificate Identifier', section: '3.13', minor: 0, type: S, ...serverOnly,
    fields: [
      { tag: Tag.Issuer, type: TEXT },
      { tag: Tag.SerialNumber, type: TEXT },
    ],
  }),
  a({
    name: 'Certificate Subject', section: '3.14', minor: 0, type: S, ...serverOnly,
    fields: [
      { tag: Tag.CertificateSubjectDistinguishedName, type: TEXT },
      { tag: Tag.CertificateSubjectAlternativeName, type: TEXT },
    ],
  }),
  a({
    name: 'Certificate Issuer', section: '3.15', minor: 0, type: S, ...serverOnly,
    fields: [
      { tag: Tag.CertificateIssuerDistinguishedName, type: TEXT },
      { tag: Tag.CertificateIssuerAlternativeName, type: TEXT },
    ],
  }),
  a({ name: 'Digital Signature Algorithm', section: '3.16', minor: 1, type: ENUM, enumId: 'DigitalSignatureAlgorithm', ...serverOnly }),
  a({
    name: 'Digest', section: '3.17', minor: 0, type: S, multi: true, ...serverOnly,
    fields: [
      { tag: Tag.HashingAlgorithm, type: ENUM, required: true, enumId: 'HashingAlgorithm' },
      { tag: Tag.DigestValue, type: BYTES },
      { tag: Tag.KeyFormatType, type: ENUM, enumId: 'KeyFormatType' },
    ],
  }),
  a({ name: 'Operation Policy Name', section: '3.18', minor: 0, type: TEXT, setBy: 'either', clientModify: 'always' }),
  a({ name: 'Cryptographic Usage Mask', section: '3.19', minor: 0, type: INT, setBy: 'either', clientModify: 'never' }),
  a({ name: 'Lease Time', section: '3.20', minor: 0, type: INTERVAL, ...serverOnly }),
  a({
    name: 'Usage Limits', section: '3.21', minor: 0, type: S, setBy: 'either', clientModify: 'never',
    fields: [
      { tag: Tag.UsageLimitsTotal, type: LONG, required: true },
      { tag: Tag.UsageLimitsCount, type: LONG },
      { tag: Tag.UsageLimitsUnit, type: ENUM, required: true, enumId: 'UsageLimitsUnit' },
    ],
  }),
  a({ name: 'State', section: '3.22', minor: 0, type: ENUM, enumId: 'State', ...serverOnly }),
  a({ name: 'Initial Date', section: '3.23', minor: 0, type: DATE, ...serverOnly }),
  a({ name: 'Activation Date', section: '3.24', minor: 0, type: DATE, setBy: 'either', clientModify: 'pre-active' }),
  a({ name: 'Process Start Date', section: '3.25', minor: 0, type: DATE, setBy: 'either', clientModify: 'pre-active' }),
  a({ name: 'Protect Stop Date', section: '3.26', minor: 0, type: DATE, setBy: 'either', clientModify: 'pre-active-or-active' }),
  a({ name: 'Deactivation Date', section: '3.27', minor: 0, type: DATE, setBy: 'either', clientModify: 'pre-active-or-active' }),
  a({ name: 'Destroy Date', section: '3.28', minor: 0, type: DATE, ...serverOnly }),
  a({ name: 'Compromise Occurrence Date', section: '3.29', minor: 0, type: DATE, ...serverOnly }),
  a({ name: 'Compromise Date', section: '3.30', minor: 0, type: DATE, ...serverOnly }),
  a({
    name: 'Revocation Reason', section: '3.31', minor: 0, type: S, ...serverOnly,
    fields: [
      { tag: Tag.RevocationReasonCode, type: ENUM, required: true, enumId: 'RevocationReasonCode' },
      { tag: Tag.RevocationMessage, type: TEXT },
    ],
  }),
  a({ name: 'Archive Date', section: '3.32', minor: 0, type: DATE, ...serverOnly }),
  a({ name: 'Object Group', section: '3.33', minor: 0, type: TEXT, multi: true, setBy: 'either', clientModify: 'always', clientDelete: true }),
  a({ name: 'Fresh', section: '3.34', minor: 1, type: BOOL, setBy: 'either', clientModify: 'never' }),
  a({
    name: 'Link', section: '3.35', minor: 0, type: S, multi: true, setBy: 'either', clientModify: 'always', clientDelete: true,
    fields: [
      { tag: Tag.LinkType, type: ENUM, required: true, enumId: 'LinkType' },
      { tag: Tag.LinkedObjectIdentifier, type: TEXT, required: true },
    ],
  }),
  a({
    name: 'Application Specific Information', section: '3.36', minor: 0, type: S, multi: true, setBy: 'either', clientModify: 'always', clientDelete: true,
    fields: [
      { tag: Tag.ApplicationNamespace, type: TEXT, required: true },
      { tag: Tag.ApplicationData, type: TEXT },
    ],
  }),
  a({ name: 'Contact Information', section: '3.37', minor: 0, type: TEXT, setBy: 'either', clientModify: 'always', clientDelete: true }),
  a({ name: 'Last Change Date', section: '3.38', minor: 0, type: DATE, ...serverOnly }),
  a({
    name: 'Alternative Name', section: '3.40', minor: 2, type: S, multi: true, setBy: 'client', clientModify: 'always', clientDelete: true,
    fields: [
      { tag: Tag.AlternativeNameValue, type: TEXT, required: true },
      { tag: Tag.AlternativeNameType, type: ENUM, required: true, enumId: 'AlternativeNameType' },
    ],
  }),
  a({ name: 'Key Value Present', section: '3.41', minor: 2, type: BOOL, ...serverOnly }),
  a({
    name: 'Key Value Location', section: '3.42', minor: 2, type: S, multi: true, setBy: 'client', clientModify: 'always', clientDelete: true,
    fields: [
      { tag: Tag.KeyValueLocationValue, type: TEXT, required: true },
      { tag: Tag.KeyValueLocationType, type: ENUM, required: true, enumId: 'KeyValueLocationType' },
    ],
  }),
  a({ name: 'Original Creation Date', section: '3.43', minor: 2, type: DATE, setBy: 'either', clientModify: 'never' }),
  a({ name: 'PKCS#12 Friendly Name', section: '3.45', minor: 4, type: TEXT, setBy: 'client', clientModify: 'always', clientDelete: true }),
  a({ name: 'Description', section: '3.46', minor: 4, type: TEXT, setBy: 'client', clientModify: 'always', clientDelete: true }),
  a({ name: 'Comment', section: '3.47', minor: 4, type: TEXT, setBy: 'client', clientModify: 'always', clientDelete: true }),
  a({ name: 'Sensitive', section: '3.48', minor: 4, type: BOOL, setBy: 'either', clientModify: 'always' }),
  a({ name: 'Always Sensitive', section: '3.49', minor: 4, type: BOOL, ...serverOnly }),
  a({ name: 'Extractable', section: '3.50', minor: 4, type: BOOL, setBy: 'either', clientModify: 'always' }),
  a({ name: 'Never Extractable', section: '3.51', minor: 4, type: BOOL, ...serverOnly }),
];

const BY_NAME = new Map(ATTRIBUTES.map((s) => [s.name, s]));

/** Custom attributes (KMIP 1.4 §3.39): "x-" names are the client's, "y-" names the server's. */
export const isClientCustom = (name: string) => name.startsWith('x-') && name.length > 2;
export const isServerCustom = (name: string) => name.startsWith('y-') && name.length > 2;

const CUSTOM_CLIENT: AttributeSpec = {
  name: 'x-*', section: '3.39', minor: 0, type: 'any', multi: true, setBy: 'client', clientModify: 'always', clientDelete: true,
};
const CUSTOM_SERVER: AttributeSpec = { ...CUSTOM_CLIENT, name: 'y-*', setBy: 'server', clientModify: 'never', clientDelete: false };

/** The rules of an attribute, or undefined when the name is neither standard nor custom. */
export function attributeSpec(name: string): AttributeSpec | undefined {
  return BY_NAME.get(name) ?? (isClientCustom(name) ? CUSTOM_CLIENT : isServerCustom(name) ? CUSTOM_SERVER : undefined);
}
