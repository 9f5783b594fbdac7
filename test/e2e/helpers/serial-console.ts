// The VM's serial console (ttyS0) as a person at it: QEMU exposes it on a Unix socket; everything
// the guest prints is collected (ANSI control sequences removed for matching), and keys are typed.
import net from 'node:net';

// CSI and OSC sequences, and the remaining single-character escapes and carriage returns.
// eslint-disable-next-line no-control-regex
const ANSI = /\u001b\[[0-9;?]*[ -/]*[@-~]|\u001b\][^\u0007\u001b]*(\u0007|\u001b\\)|\u001b[@-Z\\-_]|\r/g;

export class SerialConsole {
  private text = '';
  /** Matching starts here: what was already waited for does not match again. */
  private cursor = 0;

  private constructor(private readonly socket: net.Socket) {
    socket.on('data', (chunk: Buffer) => {
      this.text += chunk.toString('latin1').replace(ANSI, '');
    });
    socket.on('error', () => undefined);
  }

  static async connect(path: string, timeoutMs = 30_000): Promise<SerialConsole> {
    const until = Date.now() + timeoutMs;
    for (;;) {
      try {
        const socket = await new Promise<net.Socket>((resolve, reject) => {
          const s = net.connect(path, () => resolve(s));
          s.once('error', reject);
        });
        return new SerialConsole(socket);
      } catch (err) {
        if (Date.now() > until) throw new Error(`serial console socket ${path}: ${(err as Error).message}`);
        await new Promise((r) => setTimeout(r, 200));
      }
    }
  }

  /** Waits for the pattern in what arrived since the last match; returns the matching text. */
  async waitFor(pattern: RegExp, timeoutMs: number): Promise<string> {
    const until = Date.now() + timeoutMs;
    for (;;) {
      const rest = this.text.slice(this.cursor);
      const m = pattern.exec(rest);
      if (m) {
        this.cursor += m.index + m[0].length;
        return rest.slice(0, m.index + m[0].length);
      }
      if (Date.now() > until) throw new Error(`the serial console never showed ${pattern}; it ends with:\n${rest.slice(-1500)}`);
      await new Promise((r) => setTimeout(r, 250));
    }
  }

  /** Types text; a line is ended with a carriage return, as a terminal's Enter key sends. */
  type(text: string): void {
    this.socket.write(text);
  }

  line(text: string): void {
    this.socket.write(`${text}\r`);
  }

  transcript(): string {
    return this.text;
  }

  close(): void {
    this.socket.destroy();
  }
}
