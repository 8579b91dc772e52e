import { ScheduleAlreadyRunning, ScheduleOverlapPolicy, type CalendarSpec, type Client, type ScheduleOptions } from '@temporalio/client';
import type { Config } from '../services/shared/config.js';
import { GRAINS, type Grain } from '../schemas/calendar/index.js';
import { periodSettings } from './client.js';

const MONTHS = ['JANUARY', 'FEBRUARY', 'MARCH', 'APRIL', 'MAY', 'JUNE', 'JULY', 'AUGUST', 'SEPTEMBER', 'OCTOBER', 'NOVEMBER', 'DECEMBER'] as const;

/**
 * When each grain's periods begin, as a Temporal calendar spec in the business time zone:
 * every local midnight, Mondays, the 1st of each month, the 1st of each fiscal quarter's
 * first month, the 1st of the fiscal year's first month. Pure.
 */
export function periodStartCalendar(grain: Grain, fiscalYearStartMonth: number): CalendarSpec {
  const midnight = { hour: 0, minute: 0, second: 0 };
  const month = (offset: number): (typeof MONTHS)[number] => MONTHS[(fiscalYearStartMonth - 1 + offset) % 12] ?? 'JANUARY';
  switch (grain) {
    case 'day':
      return { ...midnight, comment: 'every local midnight' };
    case 'week':
      return { ...midnight, dayOfWeek: 'MONDAY', comment: 'Mondays (ISO weeks)' };
    case 'month':
      return { ...midnight, dayOfMonth: 1, comment: 'the 1st of every month' };
    case 'quarter':
      return { ...midnight, dayOfMonth: 1, month: [0, 3, 6, 9].map(month), comment: 'the 1st of each fiscal quarter' };
    case 'year':
      return { ...midnight, dayOfMonth: 1, month: month(0), comment: 'the 1st of the fiscal year' };
  }
}

export interface AppliedSchedule {
  id: string;
  what: string;
  action: 'created' | 'updated';
}

/** Creates or updates the Schedules that close every grain and refresh provisional values. */
export async function applySchedules(client: Client, config: Config): Promise<AppliedSchedule[]> {
  const settings = periodSettings(config);
  const taskQueue = config.temporal.taskQueue;
  const prefix = config.close.idPrefix;
  const wanted: { id: string; what: string; options: Omit<ScheduleOptions, 'scheduleId'> }[] = GRAINS.map((grain) => ({
    id: `${prefix}schedule:close:${grain}`,
    what: `close each ${grain} at its end (${periodStartCalendar(grain, settings.calendar.fiscalYearStartMonth).comment ?? ''}, ${settings.calendar.timeZone})`,
    options: {
      spec: { calendars: [periodStartCalendar(grain, settings.calendar.fiscalYearStartMonth)], timezone: settings.calendar.timeZone },
      action: { type: 'startWorkflow', workflowType: 'closeEndedPeriodWorkflow', taskQueue, workflowId: `${prefix}scheduled:close:${grain}`, args: [{ ...settings, grain, graceMs: config.close.graceMs }] },
      // A close waits for its grace and for ingest; the next boundary's close queues behind it.
      policies: { overlap: ScheduleOverlapPolicy.BUFFER_ALL, catchupWindow: '7 days' },
    },
  }));
  wanted.push({
    id: `${prefix}schedule:provisional`,
    what: `refresh the open periods' provisional values every ${config.close.provisionalIntervalMs / 1_000} s`,
    options: {
      spec: { intervals: [{ every: config.close.provisionalIntervalMs }] },
      action: { type: 'startWorkflow', workflowType: 'refreshProvisionalWorkflow', taskQueue, workflowId: `${prefix}scheduled:provisional`, args: [settings] },
      policies: { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: '1 minute' },
    },
  });
  const applied: AppliedSchedule[] = [];
  for (const s of wanted) {
    try {
      await client.schedule.create({ scheduleId: s.id, ...s.options });
      applied.push({ id: s.id, what: s.what, action: 'created' });
    } catch (err) {
      if (!(err instanceof ScheduleAlreadyRunning)) throw err;
      await client.schedule.getHandle(s.id).update((previous) => ({ ...previous, ...s.options }));
      applied.push({ id: s.id, what: s.what, action: 'updated' });
    }
  }
  return applied;
}
