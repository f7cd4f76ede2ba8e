/**
 * archive_mode, archive_library and archive_command as the master has them: asked from the
 * running server through the socket postmaster.pid names, or else read from postgresql.conf and
 * postgresql.auto.conf in pgdata.
 */
import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import { errorMessage } from '@pitrtools/core/errors';
import { withPg } from '@pitrtools/core/pg/client';
import { localServer, localSessionOptions } from '@pitrtools/core/pg/local-server';
import { readConfSettings } from '@pitrtools/core/pg/conf-file';

/** The archiving settings and where they were read. */
export interface ArchiveSettings {
  archive_mode?: string;
  archive_library?: string;
  archive_command?: string;
  /** 'the running server' or the files read; `unknown` when neither worked. */
  source: string;
  /** Why the server could not be asked, when it could not. */
  note?: string;
}

const NAMES = ['archive_mode', 'archive_library', 'archive_command'] as const;

/** Reads the archiving settings of the cluster in `pgdata`. */
export async function readArchiveSettings(pgdata: string): Promise<ArchiveSettings> {
  let note: string | undefined;
  const server = await localServer(pgdata).catch((): Awaited<ReturnType<typeof localServer>> => ({ running: false }));
  if (server.running && server.port !== undefined) {
    try {
      const rows = await withPg(localSessionOptions(server, server.port, 'cmd_archiver -I'), (s) =>
        s.query<{ name: string; setting: string }>('SELECT name, setting FROM pg_settings WHERE name = ANY($1)', [NAMES]),
      );
      const out: ArchiveSettings = { source: 'the running server' };
      for (const r of rows) out[r.name as (typeof NAMES)[number]] = r.setting;
      return out;
    } catch (err) {
      note = `could not ask the running server (${errorMessage(err)})`;
    }
  }
  const files = [join(pgdata, 'postgresql.conf'), join(pgdata, 'postgresql.auto.conf')];
  const found = await readConfSettings(files, {
    read: (p) => fsp.readFile(p, 'utf8').catch(() => undefined),
    list: (d) => fsp.readdir(d).catch(() => []),
  });
  const hasConf = await fsp.access(files[0]!).then(
    () => true,
    () => false,
  );
  const out: ArchiveSettings = { source: hasConf ? files.join(' and ') : 'unknown', ...(note !== undefined ? { note } : {}) };
  for (const n of NAMES) {
    const e = found.get(n);
    if (e !== undefined) out[n] = e.value;
  }
  return out;
}
