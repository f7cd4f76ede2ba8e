/**
 * Byte counts for people: the one formatter every message, report and log line uses, in binary
 * units named as such (KiB, MiB, GiB, TiB). The ini files keep PostgreSQL's spelling (16MB = 16 MiB,
 * config/values.ts parses it); what we print says MiB so that no reader takes it for 10^6.
 */

const UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'] as const;

/** `512` -> `512 B`, `1536` -> `1.5 KiB`, `180482840` -> `172.1 MiB`; `null` (no limit) -> `unlimited`. */
export function humanBytes(n: number | null): string {
  if (n === null) return 'unlimited';
  let v = Math.abs(n);
  let i = 0;
  // 1023.95 KiB would print as "1024.0 KiB": move up a unit when the rounded figure reaches 1024.
  while (i < UNITS.length - 1 && Number(i === 0 ? Math.round(v) : v.toFixed(1)) >= 1024) {
    v /= 1024;
    i++;
  }
  const sign = n < 0 ? '-' : '';
  return i === 0 ? `${sign}${Math.round(v)} B` : `${sign}${v.toFixed(1)} ${UNITS[i]}`;
}
