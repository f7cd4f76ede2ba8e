// pitr-test: ends
/**
 * -R's timestamps, checked against PostgreSQL itself: every form we accept must mean, to a real
 * server, the instant we computed (zone-less ones in the server's timezone, DST edges included),
 * and every recovery_target_time we write must pass `postgres -C recovery_target_time` (the check
 * PostgreSQL runs at start-up) and mean the same instant in any session zone.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { parseTargetTime, resolveTarget, serverZone, type TargetTime } from '../packages/standby/src/recovery/target-time.js';
import { cleanupAll } from './rig/cleanup.js';
import { startPostgres, type PgCluster } from './rig/postgres.js';

let pg: PgCluster;
before(async () => {
  pg = await startPostgres({ name: 'tz' });
});
after(cleanupAll);

/** `postgres -C name -c k=v ...` on the cluster's data directory: stdout, or the refusal. */
function postgresC(name: string, settings: Record<string, string>): { ok: boolean; out: string } {
  const args = ['-C', name, '-D', pg.pgdata, ...Object.entries(settings).flatMap(([k, v]) => ['-c', `${k}=${v}`])];
  const r = spawnSync(join(pg.bindir, 'postgres'), args, { encoding: 'utf8' });
  return { ok: r.status === 0, out: (r.status === 0 ? r.stdout : r.stderr).trim() };
}

/** The instant (ms) PostgreSQL reads `text` as, in a session whose timezone is `zone`. */
async function pgInstant(text: string, zone: string): Promise<number> {
  const c = await pg.client();
  try {
    await c.query("SELECT set_config('timezone', $1, false)", [zone]);
    const r = await c.query<{ ms: string }>('SELECT (extract(epoch FROM $1::timestamptz) * 1000)::numeric(20, 3)::text AS ms', [text]);
    return Number(r.rows[0]!.ms);
  } finally {
    await c.end();
  }
}

const written = new Set<string>();

/** Checks one resolved target: PostgreSQL reads `asTyped` in `zone` and our text anywhere as t.epochMs. */
async function agree(asTyped: string, zone: string, t: TargetTime): Promise<void> {
  assert.equal(t.epochMs, Math.floor(await pgInstant(asTyped, zone)), `${asTyped} in ${zone}: we say ${new Date(t.epochMs).toISOString()}`);
  assert.match(t.text, /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}(?:\.\d{1,6})?[+-]\d{2}(?::\d{2}){0,2}$/, t.text);
  for (const session of ['UTC', 'Pacific/Chatham', 'America/St_Johns']) {
    assert.equal(Math.floor(await pgInstant(t.text, session)), t.epochMs, `written ${t.text} read in ${session}`);
  }
  written.add(t.text);
}

// Server zones in every form `postgres -C timezone` can print that we read, with wall-clock
// times at their summer-time changes (a time skipped, a time repeated) and far from them.
const SERVER_ZONES: Record<string, string[]> = {
  'America/New_York': ['2026-03-08 02:30:00', '2026-11-01 01:30:00', '2026-07-01 12:00:00.123456'],
  'Europe/Berlin': ['2026-03-29 02:30', '2026-10-25 02:30:00', '2026-01-15', '1880-03-08 02:30'],
  'Australia/Lord_Howe': ['2026-10-04 02:15', '2026-04-05 01:45'],
  'Asia/Kolkata': ['2026-05-28 11:00:38.059389'],
  'Etc/UTC': ['2026-05-28T11:00:38'],
  'Etc/GMT+5': ['2026-05-28 11:00:38'],
  EST5EDT: ['2026-03-08 02:30'],
  '+3': ['2026-05-28 11:00:38'],
  '-7': ['2026-05-28 11:00:38'],
  '-5.5': ['2026-05-28 11:00:38'],
  'UTC+3': ['2026-05-28 11:00:38'],
  '<+03>-03': ['2026-05-28 11:00:38'],
};

test('a zone-less target: read in the server timezone exactly as PostgreSQL reads it', async () => {
  for (const [setting, walls] of Object.entries(SERVER_ZONES)) {
    const shown = postgresC('timezone', { timezone: setting });
    assert.ok(shown.ok, shown.out);
    const zone = serverZone(shown.out);
    assert.ok(!('error' in zone), `${setting}: ${'error' in zone ? zone.error : ''}`);
    if ('error' in zone) continue;
    for (const wall of walls) {
      const input = parseTargetTime(wall);
      assert.ok(!('error' in input) && input.zone === undefined, wall);
      if ('error' in input) continue;
      const t = resolveTarget(input, zone);
      assert.equal(t.zoneAssumed, true);
      await agree(wall, setting, t);
    }
  }
});

test('a target with a zone: every accepted form means to PostgreSQL what it means to us', async () => {
  const forms = [
    '2026-05-28 11:00:38+02',
    '2026-05-28 11:00:38.059389+02:00',
    '2026-05-28 11:00:38+0200',
    '2026-05-28 11:00:38 +02',
    '2026-05-28 11:00:38.5-05:30',
    '2026-05-28 11:00:38+00:53:28',
    '2026-05-28 11:00:38 UTC',
    '2026-05-28 11:00:38 utc',
    '2026-05-28 11:00:38 GMT',
    '2026-05-28T11:00:38Z',
    '2026-05-28 11:00:38 z',
    '2026-05-28 11:00 Europe/Berlin',
    '2026-10-25 02:30:00 Europe/Berlin',
    '2026-03-08 02:30 America/New_York',
    '2026-05-28 11:00:38 Etc/GMT+5',
    '0001-01-01 00:00:00+00',
  ];
  for (const form of forms) {
    const input = parseTargetTime(form);
    assert.ok(!('error' in input), `${form}: ${'error' in input ? input.error : ''}`);
    if ('error' in input) continue;
    // The zone given wins: a session zone far from it must not change the instant.
    await agree(form, 'Asia/Tokyo', resolveTarget(input));
  }
});

test("every recovery_target_time we write passes PostgreSQL's start-up check", () => {
  assert.ok(written.size > 20, `${written.size} values`);
  for (const text of written) {
    const r = postgresC('recovery_target_time', { recovery_target_time: text });
    assert.ok(r.ok, `${text}: ${r.out}`);
    assert.equal(r.out, text);
  }
});

test('what we refuse, PostgreSQL refuses at start-up or reads otherwise than SQL does', async () => {
  // Abbreviations: refused at start-up (the abbreviation table is not loaded yet).
  for (const form of ['2026-05-28T11:00:38Z', '2026-05-28 11:00:38 CEST', '2026-05-28 11:00:38 JST']) {
    assert.equal(postgresC('recovery_target_time', { recovery_target_time: form }).ok, false, form);
  }
  for (const form of [
    '2026-05-28 11:00:38 CEST',
    '2026-05-28 11:00:38 JST',
    '2026-05-28 11:00:38 CST',
    '2026-07-01 12:00:00 CET',
    '2026-05-28 11:00:38 Mars/Olympus',
    '2026-05-28 11:00:38+16',
  ]) {
    const t = parseTargetTime(form);
    assert.ok('error' in t, form);
  }
  // CET is accepted at start-up, but as the zone with summer time (+02 in July), while SQL reads
  // the abbreviation as +01: the same letters, two instants. Hence refused.
  assert.ok(postgresC('recovery_target_time', { recovery_target_time: '2026-07-01 12:00:00 CET' }).ok);
  assert.equal(await pgInstant('2026-07-01 12:00:00 CET', 'UTC'), Date.UTC(2026, 6, 1, 11));
  assert.equal(await pgInstant('2026-07-01 12:00:00', 'CET'), Date.UTC(2026, 6, 1, 10));
});

test('server timezones we cannot read are refused with the reason', () => {
  for (const setting of ['CST6CDT,M3.2.0,M11.1.0', "interval '+02:00'"]) {
    const shown = postgresC('timezone', { timezone: setting });
    assert.ok(shown.ok, shown.out);
    const zone = serverZone(shown.out);
    assert.ok('error' in zone, setting);
    if ('error' in zone) assert.match(zone.error, /is not a zone name, a number of hours or a POSIX zone without summer time/);
  }
});
