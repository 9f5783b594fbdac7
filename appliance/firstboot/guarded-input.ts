// The console's keyboard input with the job-control and quit keys removed. In raw mode readline
// handles Ctrl-Z itself: it leaves raw mode and stops the process, which on the appliance console
// would leave the prompt dead (and Ctrl-\ would then quit). Dropping those bytes before readline
// sees them keeps the wizard and the menu in control; Ctrl-C and Ctrl-D still reach the prompts.
import { Transform, type TransformCallback } from 'node:stream';

const DROPPED = new Set([0x1a /* Ctrl-Z */, 0x1c /* Ctrl-\ */]);

export class GuardedTtyInput extends Transform {
  readonly isTTY: boolean;

  constructor(private readonly tty: NodeJS.ReadStream) {
    super();
    this.isTTY = tty.isTTY === true;
    tty.pipe(this);
  }

  /** readline switches the real terminal's mode through its input stream. */
  setRawMode(mode: boolean): this {
    if (this.tty.isTTY) this.tty.setRawMode(mode);
    return this;
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    const kept = chunk.filter((b) => !DROPPED.has(b));
    done(null, kept.length ? Buffer.from(kept) : undefined);
  }
}
