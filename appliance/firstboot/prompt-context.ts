// Where the wizard's prompts read and write: the console's terminal (the unit's TTYPath), or a
// pseudo-terminal in tests.
export interface PromptContext {
  readonly input: NodeJS.ReadableStream;
  readonly output: NodeJS.WritableStream & { write(s: string): boolean };
  readonly clearPromptOnDone?: boolean;
}
