// A KMIP failure that still carries a response payload, as Check's does (KMIP 1.4 §4.10).
import { KmipError } from '../../errors.js';
import type { Item } from '../../kmip/item.js';

export class FailureWithPayload extends KmipError {
  constructor(reason: number, message: string, readonly payload: Item[]) {
    super(reason, message);
  }
}
