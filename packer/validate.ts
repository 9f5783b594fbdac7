// Input checks shared by the Packer model's constructors and its renderer. Each throws a KeyhavenError
// with code PACKER_INVALID that names the field (`where`) and says what a valid value looks like.
import { ErrorCodes, KeyhavenError } from './errors.js';

export function invalid(where: string, message: string): KeyhavenError {
  return new KeyhavenError(ErrorCodes.PACKER_INVALID, `${where}: ${message}`);
}

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** Variable and source names: HCL identifiers (we leave out `-`, which HCL allows, to keep `var.x` simple). */
export function assertIdentifier(where: string, name: string): void {
  if (!IDENTIFIER.test(name)) throw invalid(where, `${JSON.stringify(name)} is not an identifier (letters, digits, _; not starting with a digit)`);
}

// Go's time.ParseDuration, restricted to the units that make sense for a build: "90s", "10m", "1h30m".
const DURATION = /^(?:\d+h)?(?:\d+m)?(?:\d+s)?$/;

export function assertDuration(where: string, value: string): void {
  if (value === '' || !DURATION.test(value) || !/[1-9]/.test(value)) {
    throw invalid(where, `${JSON.stringify(value)} is not a duration like "90s", "10m" or "1h30m" (and not zero)`);
  }
}

/** A positive whole number within [min, max] (sizes in MiB, CPU counts, hardware versions). */
export function assertCount(where: string, value: number, min: number, max: number, unit = ''): void {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw invalid(where, `${value}${unit} is out of range: a whole number from ${min}${unit} to ${max}${unit}`);
  }
}

/** No control characters (newlines would break the scripts and command lines Packer builds from these). */
export function assertPrintable(where: string, value: string): void {
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(value)) throw invalid(where, `${JSON.stringify(value)} contains a control character`);
}

export function assertNonEmpty(where: string, value: string): void {
  if (value.trim() === '') throw invalid(where, 'must not be empty');
}

/**
 * A path on the build host, relative to the repository root (Packer resolves relative paths against
 * its working directory, and the pipeline runs it from the repository root): no `..`, no leading `/`.
 * A trailing `/` is kept: for the file provisioner it means "the directory's contents".
 */
export function assertRepoPath(where: string, path: string): void {
  assertNonEmpty(where, path);
  assertPrintable(where, path);
  if (path.startsWith('/') || path.split('/').some((seg) => seg === '..' || seg === '.')) {
    throw invalid(where, `${JSON.stringify(path)} must be a relative path inside the repository (no leading /, no . or .. segments)`);
  }
  if (/\s/.test(path)) throw invalid(where, `${JSON.stringify(path)} must not contain whitespace`);
}

/** An absolute path inside the guest. */
export function assertGuestPath(where: string, path: string): void {
  assertNonEmpty(where, path);
  assertPrintable(where, path);
  if (!path.startsWith('/') || path.split('/').some((seg) => seg === '..' || seg === '.')) {
    throw invalid(where, `${JSON.stringify(path)} must be an absolute path in the guest without . or .. segments`);
  }
  if (/\s/.test(path)) throw invalid(where, `${JSON.stringify(path)} must not contain whitespace`);
}

const ENV_NAME = /^[A-Z_][A-Z0-9_]*$/;

/**
 * An environment variable for a provisioning script. Packer's shell provisioner writes it as
 * NAME='value' into the command it runs, so the value is kept to one line without quotes or
 * backslashes: nothing in it can change that command.
 */
export function assertEnv(where: string, name: string, value: string): void {
  if (!ENV_NAME.test(name)) throw invalid(where, `${JSON.stringify(name)} is not an environment variable name (A-Z, 0-9, _)`);
  assertPrintable(`${where}.${name}`, value);
  if (/['"\\`]/.test(value)) throw invalid(`${where}.${name}`, `${JSON.stringify(value)} must not contain quotes, backquotes or backslashes`);
}

/** Semantic version as in package.json: 1.2.3 or 1.2.3-rc.1. */
export function assertVersion(where: string, version: string): void {
  if (!/^\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?$/.test(version)) throw invalid(where, `${JSON.stringify(version)} is not a version like 1.2.3 or 1.2.3-rc.1`);
}
