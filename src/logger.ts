import pino, { type Logger } from 'pino';

export type { Logger };

/** JSON logs on stdout (one line an event), the level from LOG_LEVEL. */
export function createLogger(level: string, name = 'reprise'): Logger {
  return pino({ name, level, base: { service: name }, timestamp: pino.stdTimeFunctions.isoTime });
}
