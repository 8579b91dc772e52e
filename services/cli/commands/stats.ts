import type { Config } from '../../shared/config.js';
import { renderTable } from '../output.js';
import { withSession } from '../session.js';

/** Micros (millionths, as an integer string) → a decimal in currency units, exact: "1234500" → "1.2345". */
function decimalUnits(micros: string): string {
  const negative = micros.startsWith('-');
  const digits = (negative ? micros.slice(1) : micros).padStart(7, '0');
  const whole = digits.slice(0, -6).replace(/^0+(?=\d)/, '');
  const fraction = digits.slice(-6).replace(/0+$/, '');
  return `${negative ? '-' : ''}${BigInt(whole).toLocaleString('en-US')}${fraction ? `.${fraction}` : ''}`;
}

export async function statsCommand(config: Config, options: { json?: boolean }): Promise<void> {
  await withSession(config, 'values.read', async ({ operations, warehouse }) => {
    const stats = await operations.stats();
    if (options.json) {
      process.stdout.write(`${JSON.stringify(stats)}\n`);
      return;
    }
    process.stdout.write(`Stored events: ${stats.stored.toLocaleString('en-US')}   dead letters: ${stats.dead_letters.toLocaleString('en-US')}   (${warehouse.location})\n\n`);
    process.stdout.write(`${renderTable(Object.entries(stats.byFamily).map(([family, events]) => ({ family, events })))}\n`);
    const money = Object.entries(stats.moneyByCurrency);
    if (money.length > 0) {
      const units = (micros: string): string => decimalUnits(micros);
      process.stdout.write(
        `\nMoney by currency, exact (v1 returns and refunds count in ${config.business.reportingCurrency}):\n${renderTable(
          money.map(([currency, m]) => ({ currency, sales: m.sales, 'net sale lines': units(m.saleLinesNetMicros), 'returns received': units(m.returnsAmountMicros), 'refunds issued': units(m.refundsMicros) })),
        )}\n`,
      );
    }
    if (stats.dead_letters > 0) {
      process.stdout.write(`\n${renderTable(Object.entries(stats.deadLettersByReason).map(([reason, messages]) => ({ reason, messages })))}\n`);
    }
  });
}
