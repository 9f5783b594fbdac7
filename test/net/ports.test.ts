// The two KMIP ports (README "Ports"): with the appliance's split, the key management port serves
// everything but the cryptographic services, and the encryption services port serves Encrypt and
// Decrypt plus discovery and finding one's key; each refusal names the port that serves the
// operation, Query on each lists what that port serves, and a key made on one is used on the other.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { byteString, textString } from '../../server/kmip/item.js';
import { Enum, Tag } from '../../server/kmip/tables.js';
import { freePort } from '../support/dev-process.js';
import { KmipTestClient } from '../support/kmip-client.js';
import { createAes, field, parseResponse, request, withUid, type ParsedResponse } from '../support/requests.js';
import { startTestServer, type TestServer } from '../support/server.js';

const Op = Enum.Operation;
let ts: TestServer;
let kmipPort: number;
let servicesPort: number;

before(async () => {
  [kmipPort, servicesPort] = [await freePort(), await freePort()];
  // As the appliance configures them (appliance/boot/server-config.ts); parsed by the server's schema.
  const listeners: Record<string, unknown> = { kmip: { host: '127.0.0.1', port: kmipPort, operations: 'key-management' }, services: { host: '127.0.0.1', port: servicesPort } };
  ts = await startTestServer({ listeners } as Record<string, unknown>);
});
after(() => ts.stop());

const send = async (port: number, items: Parameters<typeof request>[0], minor = 4): Promise<ParsedResponse> => {
  const c = await KmipTestClient.connect(port, ts.dev);
  try {
    return parseResponse(await c.send(request(items, { minor })));
  } finally {
    c.close();
  }
};
const encryptItem = (uid: string, data: Buffer) => ({ operation: Op.Encrypt, payload: [textString(Tag.UniqueIdentifier, uid), byteString(Tag.Data, data)] });

test('a key made on 6000 encrypts on 6003; each port refuses the other\'s operations, naming where they are served', async () => {
  assert.equal(ts.server.services?.port, servicesPort);
  const made = await send(kmipPort, [createAes(), withUid(Op.Activate)]);
  const uid = field<string>(made.items[0]!.payload, Tag.UniqueIdentifier)!;
  assert.equal(made.items[1]!.status, Enum.ResultStatus.Success);

  const sealed = await send(servicesPort, [encryptItem(uid, Buffer.from('on the services port'))]);
  assert.equal(sealed.items[0]!.status, Enum.ResultStatus.Success, sealed.items[0]!.message);
  const onKmip = await send(kmipPort, [encryptItem(uid, Buffer.from('on the key port'))]);
  assert.equal(onKmip.items[0]!.reason, Enum.ResultReason.OperationNotSupported);
  assert.match(onKmip.items[0]!.message!, new RegExp(`Encrypt is not served on the KMIP port ${kmipPort}: use the encryption services port`));

  for (const op of [Op.Get, Op.Create, Op.Destroy]) {
    const r = await send(servicesPort, [op === Op.Create ? createAes() : withUid(op, uid)]);
    assert.equal(r.items[0]!.reason, Enum.ResultReason.OperationNotSupported, `operation ${op}`);
    assert.match(r.items[0]!.message!, new RegExp(`not served on the encryption services port ${servicesPort}: use the key management port`));
  }
  // Finding one's key and reading its attributes work on both.
  const found = await send(servicesPort, [{ operation: Op.GetAttributes, payload: [textString(Tag.UniqueIdentifier, uid)] }]);
  assert.equal(found.items[0]!.status, Enum.ResultStatus.Success);
});

test('Query lists what each port serves', async () => {
  const ops = async (port: number) => {
    const r = await send(port, [{ operation: Op.Query, payload: [{ tag: Tag.QueryFunction, type: 0x05, value: Enum.QueryFunction.QueryOperations }] }]);
    return r.items[0]!.payload!.value.filter((i) => i.tag === Tag.Operation).map((i) => i.value as number);
  };
  const services = await ops(servicesPort);
  assert.deepEqual([...services].sort((a, b) => a - b), [Op.Locate, Op.GetAttributes, Op.GetAttributeList, Op.Query, Op.DiscoverVersions, Op.Encrypt, Op.Decrypt].sort((a, b) => a - b));
  const kmip = await ops(kmipPort);
  assert.ok(kmip.includes(Op.Get) && kmip.includes(Op.Create));
  assert.ok(!kmip.includes(Op.Encrypt) && !kmip.includes(Op.Decrypt));
});
