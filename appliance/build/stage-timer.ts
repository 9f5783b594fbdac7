// Prints each build stage as it starts and its duration when it ends, and keeps the figures for the
// summary line (the issue's measure: a server-only change must rebuild in well under a minute).
export class StageTimer {
  private readonly started = Date.now();
  private current: { name: string; at: number } | undefined;
  readonly durations: { name: string; seconds: number }[] = [];

  constructor(private readonly out: (line: string) => void) {}

  start(name: string, detail = ''): void {
    this.end();
    this.current = { name, at: Date.now() };
    this.out(`==> ${name}${detail ? ` (${detail})` : ''}`);
  }

  note(line: string): void {
    this.out(`    ${line}`);
  }

  end(): void {
    if (!this.current) return;
    const seconds = (Date.now() - this.current.at) / 1000;
    this.durations.push({ name: this.current.name, seconds });
    this.out(`    ${this.current.name}: ${seconds.toFixed(1)} s`);
    this.current = undefined;
  }

  totalSeconds(): number {
    return (Date.now() - this.started) / 1000;
  }
}
