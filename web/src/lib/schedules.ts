import type { TSchedule } from './api';
import { utc } from './format';

/** A schedule's spec in words: `cron "0 8 * * 1-5" in Europe/Paris`, `every 1h`, `once at …`. */
export function specInWords(spec: TSchedule['spec']): string {
  const s = spec as { cron?: string; timezone?: string; every?: string; at?: string } | undefined;
  if (!s) return 'unknown spec';
  if (s.cron) return `cron “${s.cron}”${s.timezone ? ` in ${s.timezone}` : ' (UTC)'}${cronHint(s.cron)}`;
  if (s.every) return `every ${s.every}`;
  if (s.at) return `once at ${utc(s.at)}`;
  return JSON.stringify(spec);
}

/** A few common cron shapes in words; others show as written (Temporal's next fires say when). */
function cronHint(cron: string): string {
  const f = cron.trim().split(/\s+/);
  if (cron.startsWith('@')) return '';
  if (f.length !== 5) return '';
  const [min, hour, dom, mon, dow] = f as [string, string, string, string, string];
  const at = /^\d+$/.test(min) && /^\d+$/.test(hour) ? `${hour.padStart(2, '0')}:${min.padStart(2, '0')}` : null;
  if (!at || mon !== '*' || dom !== '*') return '';
  if (dow === '*') return `: every day at ${at}`;
  if (dow === '1-5') return `: weekdays at ${at}`;
  return '';
}
