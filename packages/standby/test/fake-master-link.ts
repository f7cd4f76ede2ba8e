/** A withMasterLink for unit tests: its session runs `query` (PostgreSQL `versionNum`); counts closes. Shared by the tests of -P and --check. */
import type { MasterLink, withMasterLink } from '../src/master-link.js';

export function fakeLink(query: (sql: string) => Promise<unknown>, versionNum = 150018): { link: typeof withMasterLink; closed: () => number } {
  let closed = 0;
  const link = (async (_c: unknown, _l: unknown, _o: unknown, fn: (l: MasterLink) => Promise<unknown>) => {
    const l = {
      pg: { versionNum, query },
      where: 'fake master',
      close: async () => {
        closed++;
      },
    } as unknown as MasterLink;
    try {
      return await fn(l);
    } finally {
      await l.close();
    }
  }) as typeof withMasterLink;
  return { link, closed: () => closed };
}
