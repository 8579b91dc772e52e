import type { Config } from '../shared/config.js';

/** How the local stack installs, starts and checks one service. */
export interface ServiceDefinition {
  name: string;
  title: string;
  /** Where clients reach it, e.g. 127.0.0.1:9092. */
  endpoint(config: Config): string;
  /** Folder that holds its data. */
  dataPath(config: Config): string;
  /** Further lines for `stack up` and `stack status`, e.g. a web UI's URL. */
  extras?(config: Config): string[];
  installed(config: Config): boolean;
  /** Throws a PrerequisiteError naming what to install. */
  checkPrerequisites(config: Config): void;
  install(config: Config, say: (line: string) => void): void;
  /** Writes config files, formats storage once, and returns the command that starts it. */
  prepareStart(config: Config): { command: string; args: string[]; marker: string };
  /** Resolves with a short health summary; rejects when the service does not answer. */
  healthy(config: Config): Promise<string>;
  startTimeoutMs: number;
}
