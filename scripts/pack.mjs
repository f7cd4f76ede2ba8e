#!/usr/bin/env node
// npm run tarball [-- DEST_DIR]: builds pitrtools-<version>.tgz, the file `npm install -g` installs
// as a copy (README, Quick start). Why a staged package and not `npm pack` of the root:
// - the root is a workspace whose bins point into packages/ and whose `prepare` builds with tsc;
//   a tarball of it would build at install time (npm 11 warns about that script) or link a clone;
// - the tarball bundles every runtime dependency (built dist/ of our four packages, ssh2, pg,
//   yargs, chalk and theirs), so an install needs no registry and no TypeScript: ~0.5 MB packed;
// - it leaves out what only ssh2's optional speed-ups need and what was built for this machine:
//   cpu-features (native; ssh2 uses it only to order ciphers, and core/ssh/connect.ts sets its own
//   order; its build needs node-gyp and Node's headers, and a failing build of a bundled package
//   fails the whole install offline) and ssh2's compiled crypto binding (its install script
//   rebuilds it for the target's Node.js and falls back to JavaScript when it cannot).
// - the native compression libraries of `compress` (core/compress.ts) ship built: lz4-napi with its
//   prebuilt linux-x64-gnu package (napi-rs, no install script), and zstd-napi's own built
//   build/Release/binding.node without its install script (`prebuild-install || node-gyp rebuild`
//   would go to the network or need a compiler at install time) and without its build-time
//   dependencies (node-addon-api, prebuild-install, @types/node): N-API binaries are ABI-stable
//   across Node.js versions, so the one built here loads on the target (same OS and CPU).
// - besides the programs it ships what the shipped Markdown links to or tells users to run (SHIPPED): the
//   docs, the ini samples, the helper SQL, the notify hook docs/monitoring.md puts in notify_* (run from
//   $(npm root -g)/pitrtools/scripts/) and the benchmark report README.md and docs/performance.md cite;
//   test/install-tarball.test.ts checks that every relative link in the installed Markdown resolves.
// Runs no build itself: run `npx tsc -b` first (it checks that dist/ is there).
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { spawnSync } from 'node:child_process';

const root = resolve(new URL('..', import.meta.url).pathname);
const dest = resolve(process.argv[2] ?? process.cwd());
const OURS = ['core', 'cli', 'archiver', 'standby'];
const LEAVE_OUT = new Set(['cpu-features']);
// Shipped built, as said above: only these files, no dependencies, no scripts.
const PREBUILT = { 'zstd-napi': ['package.json', 'binding.js', 'binding.d.ts', 'dist', 'build/Release/binding.node', 'LICENSE', 'NOTICE', 'README.md'] };
// Files and folders of the tree shipped as they are (npm's `files`, and copied into the staged package).
const SHIPPED = ['etc/', 'sql/', 'docs/', 'README.md', 'scripts/nagios-passive-hook.sh', 'bench/README.md'];
const readJson = (p) => JSON.parse(readFileSync(p, 'utf8'));
const rootPkg = readJson(join(root, 'package.json'));

for (const p of OURS) {
  if (!existsSync(join(root, 'packages', p, 'dist'))) {
    console.error(`pack: packages/${p}/dist is missing; run npx tsc -b first`);
    process.exit(2);
  }
}

const stage = mkdtempSync(join(tmpdir(), 'pitrtools-pack-'));
try {
  const nm = join(stage, 'node_modules');
  // Our packages: package.json, dist/ (without tsc's build info), bin/.
  for (const p of OURS) {
    const from = join(root, 'packages', p);
    const to = join(nm, '@pitrtools', p);
    mkdirSync(to, { recursive: true });
    cpSync(join(from, 'package.json'), join(to, 'package.json'));
    cpSync(join(from, 'dist'), join(to, 'dist'), { recursive: true, filter: (f) => !f.endsWith('.tsbuildinfo') });
    if (existsSync(join(from, 'bin'))) cpSync(join(from, 'bin'), join(to, 'bin'), { recursive: true });
  }
  // Their runtime dependencies, as npm laid them out in the checkout (hoisted, nested where it had to).
  const copied = new Set();
  const locate = (name, fromDir) => {
    for (let d = fromDir; ; d = dirname(d)) {
      const cand = join(d, 'node_modules', name);
      if (existsSync(join(cand, 'package.json'))) return cand;
      if (d === root || d === dirname(d)) return undefined;
    }
  };
  const visit = (pkgDir) => {
    const pkg = readJson(join(pkgDir, 'package.json'));
    const deps = { ...pkg.dependencies, ...pkg.optionalDependencies };
    for (const name of Object.keys(deps)) {
      if (name.startsWith('@pitrtools/') || LEAVE_OUT.has(name)) continue;
      const at = locate(name, pkgDir);
      if (at === undefined) {
        if (pkg.optionalDependencies?.[name] !== undefined) continue;
        throw new Error(`${name} (needed by ${pkg.name}) is not installed; run npm ci`);
      }
      if (copied.has(at)) continue;
      copied.add(at);
      const rel = relative(join(root, 'node_modules'), at);
      if (PREBUILT[name]) {
        for (const f of PREBUILT[name]) {
          if (!existsSync(join(at, f))) throw new Error(`${name}: ${f} is missing; run npm ci (it builds ${name})`);
          cpSync(join(at, f), join(nm, rel, f), { recursive: true });
        }
        const p = readJson(join(at, 'package.json'));
        delete p.scripts;
        delete p.dependencies;
        delete p.devDependencies;
        delete p.gypfile; // npm runs node-gyp for a package with binding.gyp or gypfile: true
        delete p.binary;
        p.files = PREBUILT[name].filter((f) => f !== 'package.json'); // npm packs a bundled package's own `files` only
        writeFileSync(join(nm, rel, 'package.json'), `${JSON.stringify(p, null, 2)}\n`);
        continue;
      }
      cpSync(at, join(nm, rel), {
        recursive: true,
        filter: (f) => !relative(at, f).startsWith('node_modules') && !/\/lib\/protocol\/crypto\/build(\/|$)/.test(f),
      });
      visit(at);
    }
  };
  for (const p of OURS) visit(join(root, 'packages', p));

  const bundled = [
    ...new Set([...copied].map((at) => relative(join(root, 'node_modules'), at)).filter((r) => !r.includes('/node_modules/'))),
    ...OURS.map((p) => `@pitrtools/${p}`),
  ].sort();
  const dependencies = Object.fromEntries(bundled.map((n) => [n, readJson(join(nm, n, 'package.json')).version]));
  const pkg = {
    name: rootPkg.name,
    version: rootPkg.version,
    description: rootPkg.description,
    license: rootPkg.license,
    type: 'module',
    engines: rootPkg.engines,
    bin: {
      cmd_archiver: 'node_modules/@pitrtools/archiver/bin/cmd_archiver',
      cmd_queue: 'node_modules/@pitrtools/archiver/bin/cmd_queue.js',
      cmd_standby: 'node_modules/@pitrtools/standby/bin/cmd_standby.js',
    },
    files: SHIPPED,
    dependencies,
    bundleDependencies: Object.keys(dependencies),
  };
  writeFileSync(join(stage, 'package.json'), `${JSON.stringify(pkg, null, 2)}\n`);
  for (const f of SHIPPED) cpSync(join(root, f), join(stage, f), { recursive: true });

  mkdirSync(dest, { recursive: true });
  const r = spawnSync('npm', ['pack', '--ignore-scripts', '--pack-destination', dest, ...process.argv.slice(3)], {
    cwd: stage,
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  process.exitCode = r.status ?? 1;
} finally {
  rmSync(stage, { recursive: true, force: true });
}
