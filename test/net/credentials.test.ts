// The Username/Password check without a network: answers without scrypt whenever it can, checks on
// the thread pool otherwise, refuses an identity after too many wrong passwords (guesses still being
// checked count), checks the same guess once, and bounds the checks running and waiting.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { structure } from '../../server/kmip/item.js';
import { Enum, Tag } from '../../server/kmip/tables.js';
import type { Credential } from '../../server/kmip/message.js';
import { credentialChecker, hashPassword } from '../../server/net/credentials.js';

const SUBJECT = 'CN=vcenter,O=Keyhaven';
const HASH = hashPassword('correct horse battery');
const cred = (password: string, username = 'vcenter'): Credential[] => [
  { type: Enum.CredentialType.UsernameAndPassword, username, password, value: structure(Tag.CredentialValue, []) },
];

test('answers synchronously when no scrypt is needed; otherwise a promise', async () => {
  const check = credentialChecker([{ subject: SUBJECT, username: 'vcenter', passwordHash: HASH }]);
  assert.equal(check('CN=other', []), undefined, 'a subject without a configured credential needs none');
  assert.match(String(check(SUBJECT, [])), /must also send a Username and Password Credential/);
  const first = check(SUBJECT, cred('correct horse battery'));
  assert.ok(first instanceof Promise);
  assert.equal(await first, undefined);
  assert.equal(check(SUBJECT, cred('correct horse battery')), undefined, 'verified recently: no scrypt');
  assert.match(String(await check(SUBJECT, cred('correct horse battery', 'admin'))), /not correct/, 'an unknown username is refused (after one scrypt)');
});

test('after 5 wrong passwords within the window the identity is refused without a check, until the window passes', async () => {
  let now = 1_000_000;
  const check = credentialChecker([{ subject: SUBJECT, username: 'vcenter', passwordHash: HASH }], { now: () => now, failureWindowMs: 60_000 });
  for (let i = 0; i < 5; i++) assert.match(String(await check(SUBJECT, cred(`guess ${i}`))), /not correct/);
  const refused = check(SUBJECT, cred('correct horse battery'));
  assert.equal(typeof refused, 'string', 'refused at once, no promise: no scrypt ran');
  assert.match(refused as string, /too many wrong passwords for this client: try again in 60 s/);
  assert.equal(check('CN=other', []), undefined, 'other identities are not affected');
  now += 60_001;
  assert.equal(await check(SUBJECT, cred('correct horse battery')), undefined, 'the window passed');
});

test('guesses being checked count against the allowance; the same guess on several connections is checked once', async () => {
  const check = credentialChecker([{ subject: SUBJECT, username: 'vcenter', passwordHash: HASH }], { maxConcurrent: 10, maxWaiting: 10 });
  const same = [check(SUBJECT, cred('one guess')), check(SUBJECT, cred('one guess'))];
  assert.equal(same[0], same[1], 'the same promise: one check');
  const parallel = Array.from({ length: 8 }, (_, i) => check(SUBJECT, cred(`parallel ${i}`)));
  const promises = parallel.filter((r) => r instanceof Promise).length;
  assert.equal(promises, 4, 'with one guess in flight, 4 more may start (5 in all), the rest are refused at once');
  assert.ok(parallel.filter((r) => typeof r === 'string').every((r) => /too many wrong passwords/.test(r as string)));
  await Promise.all([...same, ...parallel]);
});

test('at most maxConcurrent checks run and maxWaiting wait; beyond, "busy"', async () => {
  const check = credentialChecker([{ subject: SUBJECT, username: 'vcenter', passwordHash: HASH }], { maxConcurrent: 1, maxWaiting: 1, maxFailures: 100 });
  const a = check(SUBJECT, cred('a'));
  const b = check(SUBJECT, cred('b'));
  const c = check(SUBJECT, cred('c'));
  assert.ok(a instanceof Promise && b instanceof Promise);
  assert.equal(c, 'the server is busy checking passwords: try again shortly');
  assert.deepEqual(await Promise.all([a, b]), ['the username or password is not correct', 'the username or password is not correct']);
  const d = check(SUBJECT, cred('d'));
  assert.ok(d instanceof Promise, 'slots are given back');
  await d;
});
