// The network settings the firewall is derived from. The appliance configuration composes this schema
// (under its `network` key), so it stays self-contained: zod, the shared core (lib/) and ./address.ts only.
//
// Defaults are the closed appliance: only 6000, 6002 and 6003 in; nothing out but replies.
// Values are normalised: networks become canonical CIDR text (a bare address becomes /32 or /128),
// addresses become canonical text. Networks with host bits set are refused, not rounded (see address.ts).
// Which addresses a role accepts (no loopback SIEM host, no opening to every address) is decided in
// address.ts, which the vApp properties use too (ova/vapp-properties.ts).
import { z } from 'zod';
import { describeZodError } from '../lib/zod-issues.js';
import { KeyhavenError, ErrorCodes } from './errors.js';
import { EMPTY_ENTRY, LIST_LIMITS, networkContains, parseAddressFor, parseIpNetwork, sourceNetworkProblem, worldCoveredProblem, type AddressUse, type IpNetwork, type OPENINGS } from './address.js';

/** A network in CIDR notation (a bare address means that host). Output: canonical text. */
const networkSchema = z.string().transform((text, ctx) => {
  const parsed = parseIpNetwork(text);
  if (!parsed.ok) {
    ctx.addIssue({ code: z.ZodIssueCode.custom, message: parsed.reason });
    return z.NEVER;
  }
  return parsed.value.text;
});

/**
 * A single IP address of a host that plays `use`: firewall destinations are pinned to addresses, so
 * hostnames are refused, and so are addresses no such host can have (address.ts addressUseProblem).
 */
const addressSchema = (use: AddressUse) =>
  z.string().transform((text, ctx) => {
    const parsed = parseAddressFor(text, use);
    if (!parsed.ok) {
      ctx.addIssue({ code: z.ZodIssueCode.custom, message: parsed.reason });
      return z.NEVER;
    }
    return parsed.value.text;
  });

/** An entry of a typed list: "" is what "a,,b" leaves, refused with the same words on every path. */
const entry = <T extends z.ZodTypeAny>(schema: T) => z.string().min(1, `"" ${EMPTY_ENTRY}`).pipe(schema);

/** zod's own "Array must contain at most 3 element(s)" names neither the count nor the field's limit. */
const limited = <T extends z.ZodTypeAny>(schema: T, max: number) =>
  z.array(schema).superRefine((list, ctx) => {
    if (list.length > max) ctx.addIssue({ code: z.ZodIssueCode.custom, message: `has ${list.length} entries; at most ${max} are allowed` });
  });

/**
 * A list of networks an opening allows, where no entry repeats or lies inside another (nftables
 * refuses overlaps), none is in a range no one connects from, and together they are not every
 * address (address.ts sourceNetworkProblem, worldCoveredProblem).
 */
const networkListSchema = (opening: keyof typeof OPENINGS, max = 256) =>
  limited(entry(networkSchema), max)
    .superRefine((list, ctx) => {
      // zod runs this refinement even when an entry failed above; such entries are not strings here.
      const parsed = list.map((text) => (typeof text === 'string' ? parseIpNetwork(text) : undefined)).map((p) => (p?.ok ? p.value : undefined));
      let refused = false;
      parsed.forEach((net, i) => {
        if (!net) return;
        const unusable = sourceNetworkProblem(net, opening);
        if (unusable) {
          refused = true;
          ctx.addIssue({ code: z.ZodIssueCode.custom, path: [i], message: `${JSON.stringify(net.text)} ${unusable}` });
          return;
        }
        for (let j = 0; j < i; j++) {
          const earlier = parsed[j] as IpNetwork | undefined;
          if (!earlier) continue;
          const relation =
            earlier.text === net.text
              ? 'repeats'
              : networkContains(earlier, net)
                ? 'lies inside'
                : networkContains(net, earlier)
                  ? 'contains'
                  : undefined;
          if (relation) {
            // Overlapping entries would be counted twice by the whole-address-space check below.
            refused = true;
            ctx.addIssue({
              code: z.ZodIssueCode.custom,
              path: [i],
              message: `"${net.text}" ${relation} entry [${j}] "${earlier.text}"; remove one of them`,
            });
            return;
          }
        }
      });
      const all = parsed.filter((n): n is IpNetwork => n !== undefined);
      const world = all.length === list.length && !refused ? worldCoveredProblem(all, opening) : undefined;
      if (world) ctx.addIssue({ code: z.ZodIssueCode.custom, message: `${all.map((n) => n.text).join(', ')} ${world}` });
    });

/** A list of distinct addresses of hosts that play `use`. */
const addressListSchema = (use: AddressUse, max = 64) =>
  limited(entry(addressSchema(use)), max)
    .superRefine((list, ctx) => {
      list.forEach((text, i) => {
        if (typeof text !== 'string') return;
        const j = list.indexOf(text);
        if (j < i) ctx.addIssue({ code: z.ZodIssueCode.custom, path: [i], message: `"${text}" repeats entry [${j}]` });
      });
    });

const openingSchema = (opening: 'keyManagement' | 'webManagement') =>
  z
    .object({
      enabled: z.boolean().default(false),
      /** Source networks allowed to reach the port; required when enabled. */
      networks: networkListSchema(opening).default([]),
    })
    .strict();

export const networkPolicySettingsSchema = z
  .object({
    /** Networks allowed to reach the SSH admin menu (22/tcp) when `ssh.enabled`. */
    adminNetworks: networkListSchema('adminNetworks', LIST_LIMITS.adminNetworks).default([]),
    ssh: z.object({ enabled: z.boolean().default(false) }).strict().default({}),
    /** Key management for crypto officers, 6001/tcp. */
    keyManagement: openingSchema('keyManagement').default({}),
    /** Web management, 3886/tcp. */
    webManagement: openingSchema('webManagement').default({}),
    mirroring: z
      .object({
        /** Other Keyhaven servers: outbound 6002 goes only to these. */
        peers: addressListSchema('mirroring peer').default([]),
        /**
         * When true, inbound 6002 is accepted only from `peers` (none: from nobody, a mirror group of
         * one, as the appliance runs alone); otherwise from anywhere.
         */
        restrictInbound: z.boolean().default(false),
      })
      .strict()
      .default({}),
    /** Syslog destinations (514/udp and 514/tcp). */
    siemHosts: addressListSchema('SIEM host', LIST_LIMITS.siemHosts).default([]),
    /** SFTP backup destination (22/tcp). */
    backupHost: addressSchema('backup host').optional(),
    /** NTP servers (123/udp). */
    ntpServers: addressListSchema('NTP server', LIST_LIMITS.ntpServers).default([]),
    /** DNS resolvers (53/udp and 53/tcp); DNS is closed when this is empty. */
    dnsServers: addressListSchema('DNS server', LIST_LIMITS.dnsServers).default([]),
  })
  .strict()
  .superRefine((s, ctx) => {
    // An opening switched on with nowhere to open it to is a mistake, not a request for "anywhere".
    const need = (on: boolean, list: readonly string[], path: (string | number)[], what: string) => {
      if (on && list.length === 0) {
        ctx.addIssue({ code: z.ZodIssueCode.custom, path, message: `${what} is enabled but no source networks are configured; add at least one network or disable it` });
      }
    };
    need(s.ssh.enabled, s.adminNetworks, ['adminNetworks'], 'SSH (ssh.enabled)');
    need(s.keyManagement.enabled, s.keyManagement.networks, ['keyManagement', 'networks'], 'key management (6001)');
    need(s.webManagement.enabled, s.webManagement.networks, ['webManagement', 'networks'], 'web management (3886)');
  });

export type NetworkPolicySettings = z.output<typeof networkPolicySettingsSchema>;
export type NetworkPolicySettingsInput = z.input<typeof networkPolicySettingsSchema>;

/**
 * Validates and normalises firewall settings. Throws KeyhavenError(FIREWALL_INVALID) naming every
 * bad setting; `pathPrefix` (e.g. `network`) is prepended when the settings sit inside a larger file.
 */
export function parseNetworkPolicySettings(input: unknown, pathPrefix = ''): NetworkPolicySettings {
  const result = networkPolicySettingsSchema.safeParse(input === undefined ? {} : input);
  if (!result.success) {
    throw new KeyhavenError(ErrorCodes.FIREWALL_INVALID, describeZodError(result.error, pathPrefix), { cause: result.error });
  }
  return result.data;
}
