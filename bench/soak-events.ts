/**
 * The event source of bench:soak, on a thread of its own: generating one simulated day takes
 * most of a second for 100 stores, and on the publishing thread it would stall the publisher's
 * clock and the freshness watcher. Asked for `want` events, it generates the next simulated
 * days, one after the other, until it has that many, and posts their valid messages in send
 * order. One seed for every day, so the organisation (stores, regions) stays the same; event,
 * sale, order, return and ticket ids carry the day, so no id repeats across days.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { generateEvents } from '../services/simulator/generate.js';

export interface SoakEventsOptions {
  stores: number;
  seed: number;
  /** The business time zone (KPI_TIME_ZONE). */
  timeZone: string;
}

export interface SoakEventsRequest {
  /** Events wanted: at least this many are posted back, whole days. */
  want: number;
}

/** One message as the simulator sends it. */
export interface SoakEvent {
  /** The family topic's name without the prefix. */
  topic: string;
  key: string | null;
  /** The event as JSON text; `occurred_at` is stamped again when it is published. */
  value: string;
  /** A sale.completed: one more transaction in the open day's values. */
  sale: boolean;
}

/** The first simulated day; only the events' contents come from it, never their times. */
const FIRST_DAY_MS = Date.UTC(2026, 0, 5);
const DAY_MS = 86_400_000;

const port = parentPort;
if (!port) throw new Error('soak-events runs as a worker thread');
const options = workerData as SoakEventsOptions;
let day = 0;

port.on('message', (request: SoakEventsRequest) => {
  const out: SoakEvent[] = [];
  while (out.length < request.want) {
    const date = new Date(FIRST_DAY_MS + day * DAY_MS).toISOString().slice(0, 10);
    day += 1;
    const sim = generateEvents({ from: date, to: date, stores: options.stores, seed: options.seed, timeZone: options.timeZone });
    for (const m of sim.messages) {
      if (m.kind === 'valid') out.push({ topic: m.topic, key: m.key, value: m.value.toString('utf8'), sale: m.event?.type === 'sale.completed' });
    }
  }
  port.postMessage(out);
});
