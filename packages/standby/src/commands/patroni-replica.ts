/**
 * --patroni-replica: cmd_standby's base backup as a Patroni create_replica_method. Patroni runs
 * `<command> --scope=S --datadir=D --role=replica --connstring=<leader's conninfo> [--key=value ...]`
 * (patroni/postgresql/bootstrap.py, create_replica) after emptying D; we copy the leader the
 * connstring names into D with the -B engine, over SSH as the ini says, and stop there. Everything
 * else is Patroni's: no standby.signal, no primary_conninfo or restore_command, no pg_ctl; Patroni
 * writes its recovery settings and starts the server once we exit 0.
 */
import { resolve } from 'node:path';
import { conninfoServer } from '@pitrtools/core/pg/conninfo';
import type { Ctx } from '../context.js';
import { basebackup, type BasebackupResult } from './basebackup.js';

/** Options of --patroni-replica (Patroni's arguments). */
export interface PatroniReplicaOptions {
  /** --datadir: the data directory to fill (Patroni's postgresql.data_dir). */
  datadir: string;
  /** --connstring: the leader's libpq connection string; its host and port are the master of this copy. */
  connstring: string;
  /** --scope: the Patroni cluster's name (for messages). */
  scope?: string;
  /** --checksum=true among the method's parameters: as -B --checksum. */
  checksum?: boolean;
}

/**
 * Takes the base backup of the leader named by `connstring` into `datadir`: the ini's
 * master_public_ip and master_local_ip become the connstring's host, port its port (ssh_port,
 * user and the keys stay the ini's). Throws BAD_CONNINFO (exit 2) for a connstring without one
 * TCP host, BASEBACKUP_FAILED (exit 1) as -B does; returns only when the copy is complete.
 */
export async function patroniReplica(ctx: Ctx, o: PatroniReplicaOptions): Promise<BasebackupResult> {
  const { host, port } = conninfoServer(o.connstring);
  const pgdata = resolve(o.datadir);
  const config = { ...ctx.config, pgdata, master_public_ip: host, master_local_ip: host, port };
  ctx.log.info(`Patroni${o.scope ? ` cluster ${o.scope}` : ''}: creating a replica in ${pgdata} from the leader ${host}:${port}`);
  return basebackup({ ...ctx, config }, { checksum: o.checksum === true });
}
