// KMIP 1.4 §4.18 Obtain Lease: how long a client may keep using its copy of an object before asking
// again. Leases are only granted on Active objects, for the object's Lease Time or the server's.
import { KmipError } from '../../errors.js';
import { dateTime, interval, textString } from '../../kmip/item.js';
import { Enum, Tag } from '../../kmip/tables.js';
import { ownedObject, setPlaceholder, parseTarget, type TargetRequest } from '../model/access.js';
import { State, STATE_NAMES } from '../model/lifecycle.js';
import { numberAttr } from '../model/object-model.js';
import { operation } from '../pipeline/operation.js';

/** Lease granted when an object sets no Lease Time of its own. */
export const DEFAULT_LEASE_SECONDS = 3600;

export type ObtainLeaseRequest = TargetRequest;

export const obtainLease = operation<ObtainLeaseRequest>({
  parse: parseTarget,
  run({ uid }, ctx) {
    const o = ownedObject(ctx, uid);
    if (o.state !== State.Active) {
      throw new KmipError(Enum.ResultReason.PermissionDenied, `object ${uid} is ${STATE_NAMES[o.state]}; leases are granted on Active objects only`);
    }
    setPlaceholder(ctx, uid);
    return [
      textString(Tag.UniqueIdentifier, uid),
      interval(Tag.LeaseTime, numberAttr(o, 'Lease Time') ?? DEFAULT_LEASE_SECONDS),
      dateTime(Tag.LastChangeDate, numberAttr(o, 'Last Change Date') ?? ctx.now),
    ];
  },
});
