/**
 * Command line of the benchmark: which parts, how much WAL, how big a cluster, how many runs.
 */
/** A row set of part (c). */
export type ScalingRow = 'depth' | 'queue' | 'base';
const SCALING_ROWS: readonly ScalingRow[] = ['depth', 'queue', 'base'];

export interface BenchOptions {
  /** 'all' runs (a) and (b); scaling (c) runs only when asked, alone or with --scaling. */
  only: 'all' | 'wal' | 'basebackup' | 'scaling' | 'wan';
  /** Also run part (c) after (a) and (b). */
  scaling: boolean;
  /** Which row sets of part (c): per-segment cost by queue depth, cmd_queue RSS, -B. */
  scalingRows: ScalingRow[];
  /** Segments in the archive burst (at least 20). */
  segments: number;
  /** pgbench scale of the base-backup master (70 is about 1.1 GB). */
  scale: number;
  /** pgbench scale of the small master -B's peak RSS is compared with. */
  smallScale: number;
  /** Timed runs per method; the table shows the median. */
  runs: number;
  /** Where the JSON results go (default bench/results/<timestamp>.json). */
  json: string | undefined;
  /** Part (wan): segments per burst, relay delays (ms), base-backup scale, pgbench transactions, timed single segments. */
  wanSegments: number;
  wanDelays: number[];
  wanScale: number;
  wanTx: number;
  wanSingles: number;
  /** Our `compress` values in parts (wal) and (wan), one row each (default PITR_BENCH_COMPRESS, else none,zstd,lz4; part wal always has none). */
  compress: string[];
}

export const USAGE = `usage: node --import tsx bench/main.ts [--only wal|basebackup|scaling|wan] [--scaling] [--scaling-rows depth,queue,base] [--segments N] [--scale S] [--small-scale S] [--runs R] [--json FILE]
  --only wal|basebackup|scaling|wan  run one part only (default: wal and basebackup);
                         wan needs root for its namespaces: bash bench/run.sh --only wan
  --scaling              also run the scaling part (c) after the others (several minutes)
  --scaling-rows LIST    part (c) only for these row sets: depth (cmd_archiver -F by queue depth),
                         queue (cmd_queue RSS by .ready files), base (-B by files); default all
  --segments N           WAL segments in the archive burst (default 24, at least 20)
  --scale S              pgbench scale of the base-backup cluster (default 70, about 1.1 GB)
  --small-scale S        pgbench scale of the small cluster for -B's RSS (default 10)
  --runs R               timed runs per method, median reported (default 5)
  --json FILE            also write the results there (default bench/results/<timestamp>.json)
  --wan-segments N       part wan: segments per WAL burst (default 4)
  --wan-delays LIST      part wan: one-way delays in ms added by the relay (default 0,30; 0 = no relay)
  --wan-scale S          part wan: pgbench scale of the base-backup master (default 5, ~80 MB)
  --wan-tx N             part wan: pgbench transactions before the re-sync (default 2000)
  --wan-singles N        part wan: timed single segments, median reported (default 3)
  --compress LIST        parts wal and wan: our compress values, a row each (default $PITR_BENCH_COMPRESS or
                         none,zstd,lz4; e.g. --compress zstd for our best alone; part wal always has none)`;

/** none | lz4 | zstd | zstd:N, comma-separated (the values of the ini key `compress`). */
function compressList(v: string, name: string): string[] {
  const list = v.split(',').filter((x) => x !== '');
  const bad = list.filter((x) => !/^(none|lz4|zstd(:\d+)?)$/.test(x));
  if (list.length === 0 || bad.length) throw new Error(`${name} takes a list of none, lz4, zstd, zstd:N, got ${bad.join(',') || 'nothing'}`);
  return list;
}

function int(name: string, v: string | undefined, min: number): number {
  const n = Number(v);
  if (v === undefined || !Number.isInteger(n) || n < min) throw new Error(`${name} needs a whole number >= ${min}, got ${v ?? 'nothing'}`);
  return n;
}

/** Parses argv (without node and the script); throws a one-line message on a mistake. */
export function parseOptions(argv: readonly string[]): BenchOptions | 'help' {
  const o: BenchOptions = {
    only: 'all',
    scaling: false,
    scalingRows: [...SCALING_ROWS],
    segments: 24,
    scale: 70,
    smallScale: 10,
    runs: 5,
    json: undefined,
    wanSegments: 4,
    wanDelays: [0, 30],
    wanScale: 5,
    wanTx: 2000,
    wanSingles: 3,
    compress: compressList(process.env.PITR_BENCH_COMPRESS ?? 'none,zstd,lz4', 'PITR_BENCH_COMPRESS'),
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const [flag, inline] = a.startsWith('--') && a.includes('=') ? [a.slice(0, a.indexOf('=')), a.slice(a.indexOf('=') + 1)] : [a, undefined];
    const value = (): string | undefined => inline ?? argv[++i];
    switch (flag) {
      case '-h':
      case '--help':
        return 'help';
      case '--only': {
        const v = value();
        if (v !== 'wal' && v !== 'basebackup' && v !== 'scaling' && v !== 'wan')
          throw new Error(`--only takes wal, basebackup, scaling or wan, got ${v ?? 'nothing'}`);
        o.only = v;
        break;
      }
      case '--scaling':
        o.scaling = true;
        break;
      case '--scaling-rows': {
        const v = (value() ?? '').split(',').filter((x) => x !== '');
        const bad = v.filter((x) => !SCALING_ROWS.includes(x as ScalingRow));
        if (v.length === 0 || bad.length > 0) throw new Error(`--scaling-rows takes a list of ${SCALING_ROWS.join(', ')}, got ${bad.join(',') || 'nothing'}`);
        o.scalingRows = v as ScalingRow[];
        break;
      }
      case '--segments':
        o.segments = int('--segments', value(), 20);
        break;
      case '--scale':
        o.scale = int('--scale', value(), 1);
        break;
      case '--small-scale':
        o.smallScale = int('--small-scale', value(), 1);
        break;
      case '--runs':
        o.runs = int('--runs', value(), 1);
        break;
      case '--json':
        o.json = value();
        if (!o.json) throw new Error('--json needs a file name');
        break;
      case '--wan-segments':
        o.wanSegments = int('--wan-segments', value(), 1);
        break;
      case '--wan-delays':
        o.wanDelays = (value() ?? '').split(',').map((d) => int('--wan-delays', d, 0));
        break;
      case '--wan-scale':
        o.wanScale = int('--wan-scale', value(), 1);
        break;
      case '--wan-tx':
        o.wanTx = int('--wan-tx', value(), 1);
        break;
      case '--wan-singles':
        o.wanSingles = int('--wan-singles', value(), 1);
        break;
      case '--compress':
        o.compress = compressList(value() ?? '', '--compress');
        break;
      default:
        throw new Error(`unknown option ${a}`);
    }
  }
  return o;
}
