/**
 * The project's error hierarchy. `retriable` says whether trying the same thing again
 * can succeed (a broker restarting, a store busy); callers retry only those.
 */
export class KpiError extends Error {
  /** True when the same call may succeed later without any change of input. */
  readonly retriable: boolean;

  constructor(message: string, options: { cause?: unknown; retriable?: boolean } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.retriable = options.retriable ?? false;
  }
}

/** An environment variable or config file holds a value the program cannot use. */
export class ConfigError extends KpiError {}

/** A command was called with arguments it cannot act on. */
export class UsageError extends KpiError {}

/** A program the local stack needs (java, mvn, python3) is missing or too old. */
export class PrerequisiteError extends KpiError {}

/** A local service did not install, start, answer or stop as expected. */
export class StackError extends KpiError {}

/** A migration file is malformed, edited after it was applied, or failed to apply. */
export class MigrationError extends KpiError {}

/** The embedded store is held by another process (chDB allows one per data folder). */
export class StoreBusyError extends KpiError {
  constructor(message: string, options: { cause?: unknown } = {}) {
    super(message, { ...options, retriable: true });
  }
}

/** One line for a person: the message, then each cause's message. */
export function describeError(err: unknown): string {
  const parts: string[] = [];
  let current: unknown = err;
  for (let depth = 0; current !== undefined && current !== null && depth < 5; depth += 1) {
    const text = current instanceof Error ? current.message : typeof current === 'string' ? current : JSON.stringify(current);
    if (text && !parts.includes(text)) parts.push(text);
    current = current instanceof Error ? current.cause : undefined;
  }
  return parts.join(': ');
}

/** The caller did not say who it is, or its credential is unknown, expired or revoked (HTTP 401). */
export class UnauthenticatedError extends KpiError {}

/** The caller is known, but its role does not allow what it asked, or the request is refused by policy (HTTP 403). */
export class ForbiddenError extends KpiError {}
