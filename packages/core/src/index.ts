/**
 * @pitrtools/core: the light, side-effect-free parts. Heavy adapters (SSH through ssh2, PostgreSQL
 * through pg) are imported by subpath (`@pitrtools/core/ssh/...`, `@pitrtools/core/pg/...`) so that
 * archive_command, which runs once per WAL segment, loads only what a run needs.
 */
export * from './errors.js';
export * from './log.js';
export * from './wal.js';
export * from './words.js';
export * from './config/index.js';
