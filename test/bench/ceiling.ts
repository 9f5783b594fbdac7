// Calibration: a TLS server that answers every framed request with one canned Get response, with
// Keyhaven's certificates and TLS settings, run inside the benchmark process (its main thread is
// otherwise idle). What the load generator achieves against it is the ceiling of this machine's
// TLS transport plus the load generator itself: it shows how far above the goals the client can
// drive, i.e. that the client is not what limits the figures measured against the real servers.
import { readFileSync } from 'node:fs';
import tls from 'node:tls';
import { encode } from '../../server/kmip/encode.js';
import { TtlvFramer } from '../../server/kmip/framer.js';
import { byteString, dateTime, enumeration, integer, structure, textString } from '../../server/kmip/item.js';
import { Enum, Tag } from '../../server/kmip/tables.js';
import { TLS12_CIPHERS } from '../../server/net/tls-listener.js';
import { KEY_BITS, KEY_BYTES } from './requests.js';

function cannedGetResponse(minor: number): Buffer {
  return encode(
    structure(Tag.ResponseMessage, [
      structure(Tag.ResponseHeader, [
        structure(Tag.ProtocolVersion, [integer(Tag.ProtocolVersionMajor, 1), integer(Tag.ProtocolVersionMinor, minor)]),
        dateTime(Tag.TimeStamp, Math.floor(Date.now() / 1000)),
        integer(Tag.BatchCount, 1),
      ]),
      structure(Tag.BatchItem, [
        enumeration(Tag.Operation, Enum.Operation.Get),
        enumeration(Tag.ResultStatus, Enum.ResultStatus.Success),
        structure(Tag.ResponsePayload, [
          enumeration(Tag.ObjectType, Enum.ObjectType.SymmetricKey),
          textString(Tag.UniqueIdentifier, '00000000-0000-0000-0000-000000000000'),
          structure(Tag.SymmetricKey, [
            structure(Tag.KeyBlock, [
              enumeration(Tag.KeyFormatType, Enum.KeyFormatType.Raw),
              structure(Tag.KeyValue, [byteString(Tag.KeyMaterial, Buffer.alloc(KEY_BYTES, 0x5a))]),
              enumeration(Tag.CryptographicAlgorithm, Enum.CryptographicAlgorithm.AES),
              integer(Tag.CryptographicLength, KEY_BITS),
            ]),
          ]),
        ]),
      ]),
    ]),
  );
}

export interface CannedServer {
  port: number;
  close(): Promise<void>;
}

export function startCannedServer(files: { cert: string; key: string; ca: string }, minor: number): Promise<CannedServer> {
  const response = cannedGetResponse(minor);
  const server = tls.createServer(
    {
      cert: readFileSync(files.cert),
      key: readFileSync(files.key),
      ca: readFileSync(files.ca),
      requestCert: true,
      rejectUnauthorized: true,
      minVersion: 'TLSv1.2',
      ciphers: TLS12_CIPHERS,
      honorCipherOrder: true,
      ecdhCurve: 'X25519:P-256:P-384',
    },
    (socket) => {
      socket.setNoDelay(true);
      const framer = new TtlvFramer({ maxMessageSize: 1 << 20, expectTag: Tag.RequestMessage });
      socket.on('data', (chunk: Buffer) => {
        try {
          framer.push(chunk, () => socket.write(response));
        } catch {
          socket.destroy();
        }
      });
      socket.on('error', () => {});
    },
  );
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const port = (server.address() as { port: number }).port;
      resolve({
        port,
        close: () =>
          new Promise<void>((r) => {
            server.close(() => r());
          }),
      });
    });
  });
}
