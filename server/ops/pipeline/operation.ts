// The shape of every operation (as kmip-go's handlers): its request payload is parsed once into a
// typed request, then acted on. Parsing is pure: it reads the payload and the batch's ID Placeholder,
// never the store, so each step can be tested alone, and acting never looks at TTLV fields.
import type { Item } from '../../kmip/item.js';
import type { StructReader } from '../../kmip/reader.js';
import type { OpContext } from './context.js';

/** What parsing may know of the request besides its payload. */
export type ParseContext = Pick<OpContext, 'version' | 'placeholder'>;

export interface Operation<Request> {
  /** Reads the payload (every field it does not read is refused: StructReader.done). */
  parse(payload: StructReader, ctx: ParseContext): Request;
  /** Acts on the parsed request; returns the response payload's fields. */
  run(request: Request, ctx: OpContext): Item[];
}

/** Declares an operation; infers its request type from `parse`. */
export const operation = <Request>(op: Operation<Request>): Operation<Request> => op;
