/** Stable codes of the errors a router configuration can have; each maps to one CONTRACT text. */
export type ConfigErrorCode =
  | 'SOURCE_INVALID'
  | 'GATEWAY_INVALID'
  | 'MODE_UNRECOGNIZED'
  | 'INTERFACE_INVALID'
  | 'DESTINATION_UNSPECIFIED'
  | 'DESTINATION_BOTH_SET'
  | 'DESTINATION_INVALID'
  | 'DESTINATION_FAMILY_WITHOUT_SOURCE'
  | 'DESTINATION_NAME_NEEDS_LEGACY'
  | 'FALLBACK_NOT_LAST'
  | 'PORT_INVALID'
  | 'PORT_IN_USE';

/** One problem in a configuration: a stable code, the exact user-facing text, and its line if any. */
export interface ConfigError {
  readonly code: ConfigErrorCode;
  readonly message: string;
  /** 1-based line of the destination list the error is about. */
  readonly line?: number;
}

/** The result of a parser: a value, or every problem found (in CONTRACT check order). */
export type Result<T> =
  | { readonly ok: true; readonly value: T }
  | { readonly ok: false; readonly errors: ConfigError[] };

/** Builds a ConfigError. */
export function configError(code: ConfigErrorCode, message: string, line?: number): ConfigError {
  return line === undefined ? { code, message } : { code, message, line };
}
