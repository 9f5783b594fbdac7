// Reading a JSON file that a person wrote (configuration, settings): one error for a file that
// cannot be read, another for one that is not JSON, both naming the file.
import { readFileSync } from 'node:fs';
import { CoreCodes, KeyhavenError, type ErrorCode } from './errors.js';

export interface JsonFileOptions {
  /** How messages name the file (default: its path), e.g. `the configuration file /etc/x.json`. */
  readonly label?: string;
  /** The code for text that is not JSON (default CONFIG_INVALID). */
  readonly invalidCode?: ErrorCode;
}

function parseJson(file: string, text: string, o: JsonFileOptions): unknown {
  // Some editors save UTF-8 with a byte order mark, which JSON.parse refuses.
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new KeyhavenError(o.invalidCode ?? CoreCodes.CONFIG_INVALID, `${o.label ?? file} is not valid JSON: ${(err as Error).message}`, { cause: err });
  }
}

const unreadable = (file: string, err: unknown, o: JsonFileOptions) =>
  new KeyhavenError(CoreCodes.CONFIG_UNREADABLE, `cannot read ${o.label ?? file}: ${(err as Error).message}`, { cause: err });

export function readJsonFile(file: string, o: JsonFileOptions = {}): unknown {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw unreadable(file, err, o);
  }
  return parseJson(file, text, o);
}
