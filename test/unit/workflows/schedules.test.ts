import { periodStartCalendar } from '../../../workflows/schedules.js';

describe('periodStartCalendar', () => {
  it('fires at local midnight: every day, Mondays, the 1st of the month', () => {
    expect(periodStartCalendar('day', 1)).toMatchObject({ hour: 0, minute: 0, second: 0 });
    expect(periodStartCalendar('day', 1)).not.toHaveProperty('dayOfMonth');
    expect(periodStartCalendar('week', 1)).toMatchObject({ dayOfWeek: 'MONDAY', hour: 0 });
    expect(periodStartCalendar('month', 1)).toMatchObject({ dayOfMonth: 1, hour: 0 });
  });

  it('follows the fiscal year for quarters and years', () => {
    expect(periodStartCalendar('quarter', 1)).toMatchObject({ dayOfMonth: 1, month: ['JANUARY', 'APRIL', 'JULY', 'OCTOBER'] });
    expect(periodStartCalendar('quarter', 4)).toMatchObject({ month: ['APRIL', 'JULY', 'OCTOBER', 'JANUARY'] });
    expect(periodStartCalendar('quarter', 11)).toMatchObject({ month: ['NOVEMBER', 'FEBRUARY', 'MAY', 'AUGUST'] });
    expect(periodStartCalendar('year', 4)).toMatchObject({ dayOfMonth: 1, month: 'APRIL' });
  });
});
