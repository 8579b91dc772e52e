import { readFileSync } from 'node:fs';
import { DEFAULT_SCORECARDS } from '../../schemas/scorecards/defaults.js';
import { parseScorecardConfig, type ScorecardConfig } from '../../schemas/scorecards/index.js';
import type { Config } from './config.js';
import { ConfigError, describeError } from './errors.js';

/**
 * The scorecards in force: the file named by KPI_SCORECARDS_FILE, or the built-in defaults.
 * Checked at start; a bad file stops the program with every problem named.
 */
export function loadScorecards(config: Config['close']): ScorecardConfig {
  const file = config.scorecardsFile;
  if (file === undefined) return parseScorecardConfig(DEFAULT_SCORECARDS);
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new ConfigError(`KPI_SCORECARDS_FILE ${file}: cannot read it as JSON: ${describeError(err)}`, { cause: err });
  }
  try {
    return parseScorecardConfig(raw);
  } catch (err) {
    // The message already lists every problem; the cause would repeat it.
    throw new ConfigError(`KPI_SCORECARDS_FILE ${file}: ${describeError(err)}`);
  }
}
