import path from 'node:path';
import { PrerequisiteError } from '../shared/errors.js';
import { runQuiet } from './processes.js';

const HINTS: Record<string, string> = {
  java: 'Install Java 17 or newer (Debian/Ubuntu: apt-get install openjdk-17-jre-headless; macOS: brew install openjdk@17), or set JAVA_HOME.',
  mvn: 'Install Maven 3.6 or newer (Debian/Ubuntu: apt-get install maven; macOS: brew install maven).',
  python3: 'Install Python 3.9 or newer with venv (Debian/Ubuntu: apt-get install python3 python3-venv; macOS: brew install python).',
};

/** The java executable to use: `$JAVA_HOME/bin/java` when JAVA_HOME is set, else `java` on PATH. */
export function javaCommand(javaHome: string | undefined): string {
  return javaHome ? path.join(javaHome, 'bin', 'java') : 'java';
}

/** Parses the major version out of `java -version` output ("17.0.15", "1.8.0_392", "25"). */
export function parseJavaMajor(output: string): number | undefined {
  const match = /version "(\d+)(?:\.(\d+))?/.exec(output);
  if (!match) return undefined;
  const first = Number(match[1]);
  return first === 1 && match[2] !== undefined ? Number(match[2]) : first;
}

/** The java command, after checking it is at least `minimum`; `purpose` names who needs it in the error. */
export function requireJava(javaHome: string | undefined, minimum = 17, purpose = 'Kafka'): string {
  const java = javaCommand(javaHome);
  const probe = runQuiet(java, ['-version'], { timeoutMs: 30_000 });
  if (probe.missing || probe.status !== 0) {
    throw new PrerequisiteError(`${purpose} needs Java ${minimum}+, but \`${java}\` was not found. ${HINTS['java']}`);
  }
  const major = parseJavaMajor(probe.output);
  if (major !== undefined && major < minimum) {
    throw new PrerequisiteError(`${purpose} needs Java ${minimum}+, but \`${java}\` is Java ${major}. ${HINTS['java']}`);
  }
  return java;
}

/** Checks that a command exists by running it with a harmless argument. */
export function requireCommand(command: 'mvn' | 'python3', purpose: string): void {
  const probe = runQuiet(command, ['--version'], { timeoutMs: 30_000 });
  if (probe.missing || probe.status !== 0) {
    throw new PrerequisiteError(`${purpose} needs \`${command}\`, which was not found on PATH. ${HINTS[command]}`);
  }
}
