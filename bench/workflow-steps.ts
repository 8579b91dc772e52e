import type { Client } from '@temporalio/client';

/** One activity a workflow ran, and how long from being scheduled to completing. */
export interface Step {
  name: string;
  ms: number;
}

/** Each activity of a finished workflow and how long it took, from the workflow's history. */
export async function activitySteps(client: Client, workflowId: string): Promise<Step[]> {
  const history = await client.workflow.getHandle(workflowId).fetchHistory();
  const scheduled = new Map<string, { name: string; at: number }>();
  const out: Step[] = [];
  const ms = (t: unknown): number => Number((t as { seconds?: { toString(): string }; nanos?: number } | null)?.seconds?.toString() ?? 0) * 1000 + ((t as { nanos?: number } | null)?.nanos ?? 0) / 1e6;
  for (const e of history.events ?? []) {
    const a = e.activityTaskScheduledEventAttributes;
    if (a) scheduled.set(String(e.eventId), { name: String(a.activityType?.name), at: ms(e.eventTime) });
    const done = e.activityTaskCompletedEventAttributes;
    const begun = done ? scheduled.get(String(done.scheduledEventId)) : undefined;
    if (begun) out.push({ name: begun.name, ms: ms(e.eventTime) - begun.at });
  }
  return out;
}

/** Steps summed per activity: `name ×times seconds`, the longest first. */
export function summariseSteps(steps: readonly Step[]): string {
  const byName = new Map<string, { n: number; ms: number }>();
  for (const st of steps) byName.set(st.name, { n: (byName.get(st.name)?.n ?? 0) + 1, ms: (byName.get(st.name)?.ms ?? 0) + st.ms });
  return [...byName]
    .sort((x, y) => y[1].ms - x[1].ms)
    .map(([k, v]) => `${k} ×${v.n} ${(v.ms / 1000).toFixed(1)} s`)
    .join(', ');
}
