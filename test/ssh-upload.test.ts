// pitr-test: once (the SSH layer does not depend on the PostgreSQL version)
/**
 * Durable no-clobber uploads and pipelined downloads against a real OpenSSH sshd (same
 * machine, so the "remote" files are checked straight on disk), including uploads cut off
 * by a server crash, a dropped connection and a SIGKILLed uploader.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { link, open, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { connectSsh, SshError, uploadAtomic, type SftpChannel } from '../packages/core/src/ssh/index.js';
import { sshSessionFixture } from './rig/ssh-session.js';
import { sshTargetFor } from './rig/sshd.js';

const MiB = 1024 * 1024;
const sha256 = (b: Buffer): string => createHash('sha256').update(b).digest('hex');
const segName = (n: number): string => `00000001000000000000${n.toString(16).toUpperCase().padStart(4, '0')}`;
const entries = (dir: string): string[] => readdirSync(dir).sort();

// Child mode: connect and upload a large file, report progress, and wait to be SIGKILLed.
if (process.env.PITR_SSH_UPLOAD_CHILD) {
  const cfg = JSON.parse(process.env.PITR_SSH_UPLOAD_CHILD) as { target: Parameters<typeof connectSsh>[0]; src: string; dir: string; name: string };
  const s = await connectSsh(cfg.target);
  let told = false;
  await s.uploadAtomic({ path: cfg.src }, cfg.dir, cfg.name, {
    onProgress: (done) => {
      if (!told && done >= 8 * MiB) {
        told = true;
        process.stdout.write('MIDWAY\n');
      }
    },
  });
  process.stdout.write('FINISHED\n');
} else {
  defineTests();
}

function defineTests(): void {
  const { sshd, session: s, reconnect, work } = sshSessionFixture('pitr-ssh-upload-');
  const sshdTarget = (): ReturnType<typeof sshTargetFor> => sshTargetFor(sshd());
  const freshDir = (name: string): string => {
    const d = join(work.path, name);
    mkdirSync(d, { mode: 0o700 });
    return d;
  };

  describe('uploadAtomic', () => {
    const seg = randomBytes(16 * MiB);
    let dir: string;
    before(async () => {
      dir = join(work.path, 'archive', 'standby1');
      await s().mkdirp(dir);
      assert.equal(statSync(dir).mode & 0o777, 0o700);
    });

    test('16 MiB segment: created, byte-identical on disk, 0600, no temp left, directory fsynced', async () => {
      const src = join(work.path, 'seg-src');
      writeFileSync(src, seg);
      const res = await s().uploadAtomic({ path: src }, dir, segName(1));
      assert.deepEqual(res, { status: 'created', bytes: seg.length, dirSynced: true });
      const onDisk = readFileSync(join(dir, segName(1)));
      assert.equal(sha256(onDisk), sha256(seg));
      assert.equal(statSync(join(dir, segName(1))).mode & 0o777, 0o600);
      assert.deepEqual(entries(dir), [segName(1)]);
    });

    test('privateDir: a directory writable by group or others, or a symbolic link, is refused before the link (permission denied, the fix named), nothing left; ours alone is fine', async (t) => {
      const data = randomBytes(64 * 1024);
      const real = freshDir('private-real');
      const cases: Array<[string, string, RegExp]> = [];
      for (const mode of [0o777, 0o770, 0o702]) {
        const d = freshDir(`private-${mode.toString(8)}`);
        chmodSync(d, mode);
        cases.push([d, d, new RegExp(`it is writable by others \\(.*mode 0${mode.toString(8)}\\)`)]);
      }
      const linked = join(work.path, 'private-link');
      symlinkSync(real, linked);
      cases.push([linked, real, /it is a symbolic link/]);
      // Our uid there is asked once per channel (one FSTAT of the first temp), not per upload.
      const ch = await s().sftp();
      let fstats = 0;
      const fstat = ch.fstat.bind(ch);
      ch.fstat = (...a) => (fstats++, fstat(...a));
      t.after(() => {
        ch.fstat = fstat;
      });
      for (const [d, onDisk, why] of cases) {
        await assert.rejects(s().uploadAtomic({ data }, d, segName(7), { privateDir: 'r_archivedir' }), (e: SshError) => {
          assert.equal(e.code, 'SFTP_PERMISSION_DENIED', e.message);
          assert.match(e.message, new RegExp(`^refusing to write in r_archivedir ${d} on \\S+: `));
          assert.match(e.message, why);
          assert.match(e.hint ?? '', /chmod 0700|name the directory itself/);
          return true;
        });
        assert.deepEqual(entries(onDisk), [], `nothing left in ${d}, not even a temp`);
      }
      // Without privateDir (other callers) the same directory takes the file; with it, a 0700 one does.
      assert.equal((await s().uploadAtomic({ data }, cases[0]![0], segName(7))).status, 'created');
      assert.equal((await s().uploadAtomic({ data }, real, segName(7), { privateDir: 'r_archivedir' })).status, 'created');
      assert.deepEqual(entries(real), [segName(7)]);
      assert.equal(fstats, 1, 'FSTATs for 5 uploads with privateDir on one channel');
    });

    test('throughput of 16 MiB uploads (diagnostic)', async () => {
      const d = freshDir('speed');
      const src = join(work.path, 'seg-src');
      let n = 100;
      const medians: number[] = [];
      for (const kind of ['buffer', 'file'] as const) {
        const times: number[] = [];
        for (let i = 0; i < 7; i++) {
          const name = segName(n++);
          const t0 = performance.now();
          const r = await s().uploadAtomic(kind === 'file' ? { path: src } : { data: seg }, d, name);
          times.push(performance.now() - t0);
          assert.equal(r.status, 'created');
          assert.equal(sha256(readFileSync(join(d, name))), sha256(seg));
        }
        times.sort((a, b) => a - b);
        const med = times[times.length >> 1]!;
        console.log(
          `16 MiB durable upload from a ${kind} over SSH/SFTP (loopback): median ${med.toFixed(0)} ms = ${(16 / (med / 1000)).toFixed(0)} MiB/s (best ${times[0]!.toFixed(0)}, worst ${times[times.length - 1]!.toFixed(0)} ms)`,
        );
        medians.push(med);
      }
      // The floor, side by side: the same durable write done locally (write, fsync, link, dir fsync).
      const local: number[] = [];
      for (let i = 0; i < 7; i++) {
        const t0 = performance.now();
        const tmp = join(d, `.local${i}.tmp`);
        const fh = await open(tmp, 'wx', 0o600);
        await fh.writeFile(seg);
        await fh.sync();
        await fh.close();
        await link(tmp, join(d, `local${i}`));
        await unlink(tmp);
        const dh = await open(d, 'r');
        await dh.sync();
        await dh.close();
        local.push(performance.now() - t0);
      }
      local.sort((a, b) => a - b);
      const floor = local[local.length >> 1]!;
      console.log(`same durable write locally: median ${floor.toFixed(0)} ms; SSH upload / local = ${(Math.min(...medians) / floor).toFixed(1)}x`);
    });

    test('same content again → identical, nothing changed, no temp left', async () => {
      const before = statSync(join(dir, segName(1)));
      const res = await s().uploadAtomic({ data: seg }, dir, segName(1));
      assert.equal(res.status, 'identical');
      const afterSt = statSync(join(dir, segName(1)));
      assert.equal(afterSt.ino, before.ino);
      assert.equal(afterSt.mtimeMs, before.mtimeMs);
      assert.deepEqual(entries(dir), [segName(1)]);
    });

    test('different content under the same name → conflict, remote file untouched, no temp left', async () => {
      const other = randomBytes(16 * MiB);
      for (const variant of [other, other.subarray(0, 1000)]) {
        // same size, then another size
        const res = await s().uploadAtomic({ data: variant }, dir, segName(1));
        assert.equal(res.status, 'conflict');
        assert.equal(sha256(readFileSync(join(dir, segName(1)))), sha256(seg));
        assert.deepEqual(entries(dir), [segName(1)]);
      }
      // one differing byte at the very end is found too
      const almost = Buffer.from(seg);
      almost[almost.length - 1]! ^= 1;
      assert.equal((await s().uploadAtomic({ data: almost }, dir, segName(1))).status, 'conflict');
    });

    test('without hardlink@openssh.com: plain SFTP rename, which OpenSSH never lets overwrite', async () => {
      const d = freshDir('no-hardlink');
      const real = await s().openSftp();
      try {
        const renames: string[] = [];
        const ch = Object.create(real) as SftpChannel;
        ch.has = (ext: string): boolean => ext !== 'hardlink@openssh.com' && real.has(ext);
        ch.link = () => assert.fail('link must not be used when the server lacks it');
        ch.renameNoReplace = (a: string, b: string): Promise<void> => {
          renames.push(b);
          return real.renameNoReplace(a, b);
        };
        const a = seg.subarray(0, 3 * MiB);
        assert.equal((await uploadAtomic(ch, { data: a }, d, 'f')).status, 'created');
        assert.equal((await uploadAtomic(ch, { data: a }, d, 'f')).status, 'identical');
        assert.equal((await uploadAtomic(ch, { data: seg.subarray(MiB, 4 * MiB) }, d, 'f')).status, 'conflict');
        assert.deepEqual(renames, [join(d, 'f'), join(d, 'f'), join(d, 'f')]);
        assert.equal(sha256(readFileSync(join(d, 'f'))), sha256(a));
        assert.deepEqual(entries(d), ['f']);
      } finally {
        real.end();
      }
    });

    test('a failing write (the third) → error with the remote path, temp removed, no final file', async () => {
      const d = freshDir('write-fails');
      const real = await s().openSftp();
      try {
        let writes = 0;
        const ch = Object.create(real) as SftpChannel;
        ch.write = (...args: Parameters<SftpChannel['write']>): Promise<void> =>
          ++writes === 3
            ? Promise.reject(new SshError('SFTP_FAILURE', `SFTP write ${args[5]}: disk full (injected)`, { remotePath: args[5] }))
            : real.write(...args);
        await assert.rejects(uploadAtomic(ch, { data: seg }, d, 'g'), (e: unknown) => e instanceof SshError && /injected/.test(e.message));
        assert.deepEqual(entries(d), []);
      } finally {
        real.end();
      }
    });

    test('empty file and a missing remote directory', async () => {
      const d = freshDir('empty');
      assert.equal((await s().uploadAtomic({ data: Buffer.alloc(0) }, d, 'x.history')).status, 'created');
      assert.equal(statSync(join(d, 'x.history')).size, 0);
      await assert.rejects(
        s().uploadAtomic({ data: seg.subarray(0, 10) }, join(d, 'nope'), 'y'),
        (e: unknown) => e instanceof SshError && e.code === 'SFTP_NO_SUCH_FILE' && e.remotePath !== undefined && e.message.includes(join(d, 'nope')),
      );
    });
  });

  describe('download and file helpers', () => {
    test('pipelined download to a path and to a Writable; readFile, stat, readdir, remove', async () => {
      const d = freshDir('dl');
      const big = randomBytes(40 * MiB + 12345);
      writeFileSync(join(d, 'big'), big);
      writeFileSync(join(d, 'small'), 'hello\n');
      const local = join(work.path, 'big-copy');
      const t0 = performance.now();
      const r = await s().download(join(d, 'big'), local, { inFlight: 8 });
      const ms = performance.now() - t0;
      console.log(
        `${(big.length / MiB).toFixed(0)} MiB pipelined download to a file (fsynced): ${ms.toFixed(0)} ms = ${(big.length / MiB / (ms / 1000)).toFixed(0)} MiB/s`,
      );
      assert.equal(r.bytes, big.length);
      assert.equal(sha256(readFileSync(local)), sha256(big));
      assert.equal(statSync(local).mode & 0o777, 0o600);

      const sink = new PassThrough({ highWaterMark: 64 * 1024 });
      const parts: Buffer[] = [];
      sink.on('data', (c: Buffer) => parts.push(c));
      const r2 = await s().download(join(d, 'big'), sink, { inFlight: 6, chunkSize: 100_000 });
      assert.equal(r2.bytes, big.length);
      assert.equal(sha256(Buffer.concat(parts)), sha256(big));

      assert.equal((await s().readFile(join(d, 'small'))).toString(), 'hello\n');
      const st = await s().stat(join(d, 'big'));
      assert.equal(st.size, big.length);
      assert.ok(st.isFile && !st.isDirectory);
      const list = await s().readdir(d);
      assert.deepEqual(list.map((e) => e.name).sort(), ['big', 'small']);
      assert.equal(list.find((e) => e.name === 'small')!.size, 6);
      await s().remove(join(d, 'small'));
      assert.deepEqual(entries(d), ['big']);
      assert.equal(await s().statIfExists(join(d, 'small')), undefined);
      await assert.rejects(s().readFile(join(d, 'small')), (e: unknown) => e instanceof SshError && e.code === 'SFTP_NO_SUCH_FILE');
    });

    test('mkdirp creates parents 0700 and accepts an existing directory', async () => {
      const d = join(work.path, 'a', 'b', 'c');
      await s().mkdirp(d);
      await s().mkdirp(d);
      assert.equal(statSync(join(work.path, 'a', 'b')).mode & 0o777, 0o700);
      writeFileSync(join(work.path, 'a', 'file'), '');
      await assert.rejects(s().mkdirp(join(work.path, 'a', 'file')), SshError);
    });
  });

  describe('interrupted uploads never leave a file under the final name', () => {
    const big = randomBytes(96 * MiB);

    test('sshd killed mid-write → SSH_DISCONNECTED; after a restart on the same port the upload succeeds', async () => {
      const d = freshDir('killed');
      const own = await connectSsh(sshdTarget());
      let killed: Promise<void> | undefined;
      await assert.rejects(
        own.uploadAtomic({ data: big }, d, segName(7), {
          onProgress: (done) => {
            if (!killed && done >= 8 * MiB) killed = sshd().kill();
          },
        }),
        (e: unknown) => e instanceof SshError && e.code === 'SSH_DISCONNECTED',
      );
      await killed;
      assert.ok(!existsSync(join(d, segName(7))), 'no final-named file');
      // later calls on the dead session fail at once instead of hanging
      await assert.rejects(own.stat(d), (e: unknown) => e instanceof SshError && e.code === 'SSH_DISCONNECTED');
      await sshd().start();
      const again = await connectSsh(sshdTarget());
      try {
        assert.equal((await again.uploadAtomic({ data: big }, d, segName(7))).status, 'created');
        assert.equal(sha256(readFileSync(join(d, segName(7)))), sha256(big));
        // the killed attempt's temp is recognisable and can be cleaned up
        assert.ok(entries(d).length <= 2);
        await again.removeStaleTemps(d, 0);
        assert.deepEqual(entries(d), [segName(7)]);
      } finally {
        await again.close();
      }
      await reconnect(); // the shared session died with the server
    });

    test('connection dropped mid-write → SSH_DISCONNECTED, no final-named file', async () => {
      const d = freshDir('dropped');
      const own = await connectSsh(sshdTarget());
      let cut = false;
      await assert.rejects(
        own.uploadAtomic({ data: big }, d, segName(8), {
          onProgress: (done) => {
            if (!cut && done >= 8 * MiB) {
              cut = true;
              own.destroy();
            }
          },
        }),
        (e: unknown) => e instanceof SshError && e.code === 'SSH_DISCONNECTED',
      );
      assert.ok(!existsSync(join(d, segName(8))));
    });

    test('peer hangs mid-write (sshd frozen, TCP still open) → keepalive notices: SSH_DISCONNECTED, no final-named file', async () => {
      const d = freshDir('frozen');
      // 1 s x 2: a busy machine (two CPU hogs) once left the live sshd silent past 250 ms x 2 before
      // the freeze, so the upload was dropped by keepalive for the wrong reason.
      const interval = 1000;
      const own = await connectSsh(sshTargetFor(sshd(), { keepaliveIntervalMs: interval, keepaliveCountMax: 2 }));
      let frozenAt = 0;
      try {
        await assert.rejects(
          own.uploadAtomic({ data: big }, d, segName(10), {
            onProgress: (done) => {
              if (!frozenAt && done >= 1 * MiB) {
                frozenAt = performance.now();
                sshd().freeze();
              }
            },
          }),
          (e: unknown) => e instanceof SshError && e.code === 'SSH_DISCONNECTED' && /keepalive/i.test(e.message),
        );
        assert.ok(frozenAt > 0, 'the connection was dropped before sshd was frozen');
        const ms = performance.now() - frozenAt;
        console.log(`hung peer noticed after ${ms.toFixed(0)} ms (keepalive ${interval} ms x 2)`);
        assert.ok(ms < interval * 4 + 1000, `${ms} ms`);
      } finally {
        sshd().thaw();
      }
      assert.ok(!existsSync(join(d, segName(10))));
    });

    test('uploader SIGKILLed mid-write (child process) → no final-named file, only a dot-temp', async () => {
      const d = freshDir('sigkill');
      const src = join(work.path, 'big-src');
      writeFileSync(src, big);
      const self = fileURLToPath(import.meta.url);
      const cfg = { target: sshdTarget(), src, dir: d, name: segName(9) };
      const child = spawn(process.execPath, ['--import', 'tsx', self], {
        env: { ...process.env, PITR_SSH_UPLOAD_CHILD: JSON.stringify(cfg) },
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      const exited = new Promise<NodeJS.Signals | null>((r) => child.once('exit', (_c, sig) => r(sig)));
      let out = '';
      await new Promise<void>((resolve, reject) => {
        child.stdout.on('data', (b: Buffer) => {
          out += b.toString();
          if (out.includes('MIDWAY')) {
            child.kill('SIGKILL');
            resolve();
          }
        });
        child.once('exit', () => reject(new Error(`child ended before midway: ${out}`)));
      });
      assert.equal(await exited, 'SIGKILL');
      assert.ok(!out.includes('FINISHED'));
      // The server may still be writing what it had received; the final name must never appear.
      const deadline = Date.now() + 2000;
      while (Date.now() < deadline) {
        assert.ok(!existsSync(join(d, segName(9))), 'no final-named file');
        await new Promise((r) => setTimeout(r, 100));
      }
      const left = entries(d);
      assert.equal(left.length, 1);
      assert.match(left[0]!, new RegExp(`^\\.${segName(9)}\\.[0-9a-f]{16}\\.tmp$`));
    });
  });
}
