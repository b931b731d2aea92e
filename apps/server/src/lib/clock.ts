/** Time source, injected so tests can move it. */
export interface Clock {
  now(): Date;
}

export const systemClock: Clock = { now: () => new Date() };

/** ISO-8601 UTC with milliseconds: the one text format of every timestamp column. */
export const toIso = (date: Date): string => date.toISOString();

export const addMs = (date: Date, ms: number): Date => new Date(date.getTime() + ms);
