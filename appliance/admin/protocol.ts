// The helper's protocol on its Unix socket: one JSON request line, one JSON response line, then the
// connection closes (systemd starts one helper per connection: keyhaven-admin.socket, Accept=yes).
//   → {"action":"ntp.set","params":{"servers":["192.0.2.123"]},"client":{"address":"192.0.2.7"}}
//   ← {"ok":true,"result":{…},"summary":"NTP servers 192.0.2.123"}
//   ← {"ok":false,"code":"KH_ADMIN_REQUEST_INVALID","message":"network.ntpServers[0]: …","userFault":true}
// userFault (the code's, lib/errors.ts): the menu says "Refused … Nothing was changed" rather than "Failed".
import { z } from 'zod';

/** Large enough for a pasted CSR or SSH key; anything bigger is refused unread. */
export const MAX_REQUEST_BYTES = 256 * 1024;
/** A client that connects and says nothing is dropped after this. */
export const REQUEST_TIMEOUT_MS = 30_000;

export const requestSchema = z
  .object({
    action: z.string().min(1).max(64),
    params: z.unknown().default({}),
    /** Where the menu's user is (the SSH client address, or "console"): recorded, not trusted for anything. */
    client: z.object({ address: z.string().max(100) }).strict().optional(),
  })
  .strict();

export type AdminRequest = z.input<typeof requestSchema>;

export type AdminResponse =
  | { readonly ok: true; readonly result: unknown; readonly summary: string }
  | { readonly ok: false; readonly code: string; readonly message: string; readonly userFault: boolean };
