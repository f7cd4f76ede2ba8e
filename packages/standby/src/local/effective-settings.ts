/**
 * Before -S, -F999 and -R start the server: comment out what the copy brought in
 * postgresql.auto.conf, then ask PostgreSQL (`postgres -C`) which values it will really use, and
 * refuse to start unless they are ours: never a standby that leaves recovery by itself.
 */
import { join } from 'node:path';
import { PitrError } from '@pitrtools/core/errors';
import type { Logger } from '@pitrtools/core/log';
import type { PgBinaries } from '@pitrtools/core/pg/binaries';
import { showSetting } from '@pitrtools/core/pg/show-setting';
import type { DisabledLine } from '../recovery/inherited-settings.js';
import type { Setting } from '../recovery/render.js';
import { AUTO_CONF, neutraliseInherited } from '../recovery/settings-files.js';

/** What must hold before a start: our settings with their values, and names that must be empty. */
export interface WantedSettings {
  ours: readonly Setting[];
  empty: readonly string[];
}

/**
 * Neutralises postgresql.auto.conf (logged, one WARNING per line; returned), then checks every wanted value
 * with `postgres -C`. Throws PitrError INHERITED_SETTING (exit 2) naming the key, the value the
 * server would use and the fix when one still differs (a later include wins).
 */
export async function makeOurSettingsWin(pgdata: string, bins: PgBinaries, command: string, want: WantedSettings, log: Logger): Promise<DisabledLine[]> {
  const autoConf = join(pgdata, AUTO_CONF);
  const disabled = await neutraliseInherited(pgdata, command);
  for (const d of disabled) {
    log.warning(`${autoConf} line ${d.line} sets ${d.name} (ALTER SYSTEM on the master): commented it out, it would ${d.why}`);
  }
  const fix = `find the line that sets it after include_if_exists 'pitrtools.conf' (in ${join(pgdata, 'postgresql.conf')}, a file it includes, or ${autoConf}) and remove it`;
  for (const [name, value] of want.ours) {
    const got = await showSetting(bins.postgres, pgdata, name);
    if (got !== value) {
      throw new PitrError(
        'INHERITED_SETTING',
        `refusing ${command}: the server would start with ${name} = '${got}', not the value cmd_standby wrote into pitrtools.conf ('${value}')`,
        { hint: fix },
      );
    }
  }
  for (const name of want.empty) {
    const got = await showSetting(bins.postgres, pgdata, name);
    if (got !== '') {
      throw new PitrError(
        'INHERITED_SETTING',
        `refusing ${command}: the server would start with ${name} = '${got}': it would leave recovery at that target by itself`,
        { hint: fix },
      );
    }
  }
  return disabled;
}

/** After a promotion the server archives with what its configuration says: say it loudly (-F999, -R). */
export async function warnArchivingAfterPromotion(pgdata: string, bins: PgBinaries, log: Logger): Promise<void> {
  const mode = await showSetting(bins.postgres, pgdata, 'archive_mode');
  if (mode === 'off') {
    log.warning(
      'after the promotion this server archives nothing (archive_mode = off): its standbys get WAL only by streaming; set archive_mode and archive_command in pg_conf_failover to ship it',
    );
    return;
  }
  const command = await showSetting(bins.postgres, pgdata, 'archive_command');
  const library = await showSetting(bins.postgres, pgdata, 'archive_library').catch(() => ''); // PostgreSQL 15+
  if (command === '' && library === '') {
    log.warning(
      `after the promotion archive_mode = ${mode} but neither archive_command nor archive_library is set: WAL piles up in pg_wal until one is; set it in pg_conf_failover`,
    );
  } else {
    log.warning(
      `after the promotion this server archives with ${library !== '' ? `archive_library = '${library}'` : `archive_command = '${command}'`} (archive_mode = ${mode}): make sure it ships the NEW master's WAL where its standbys expect it (pg_conf_failover)`,
    );
  }
}
