// The appliance's ports: the contract with users (ARCHITECTURE.md, "Ports").
export const Ports = {
  /** KMIP key retrieval (vCenter's key provider points here). Always open inbound. */
  keyRetrieval: 6000,
  /** Key management for crypto officers. Inbound, off by default, limited to configured networks. */
  keyManagement: 6001,
  /** Key mirroring between Keyhaven servers, both directions. */
  mirroring: 6002,
  /** Encryption services (encrypt/decrypt on the server). Always open inbound. */
  encryptionServices: 6003,
  /** Web management. Inbound, off by default, limited to configured networks. */
  webManagement: 3886,
  /** SSH admin menu inbound; SFTP backups outbound. */
  ssh: 22,
  syslog: 514,
  ntp: 123,
  dns: 53,
} as const;
