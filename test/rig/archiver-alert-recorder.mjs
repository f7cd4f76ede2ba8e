#!/usr/bin/env node
// A notify_* hook for tests: appends one JSON line per call to the file named by its first
// argument: every argument it got and the PITR_* environment. It never runs a shell, so a
// hostile message can only end up as data in that file.
import { appendFileSync } from 'node:fs';

const [file, ...args] = process.argv.slice(2);
const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => k.startsWith('PITR_')));
appendFileSync(file, `${JSON.stringify({ args, env })}\n`, { mode: 0o600 });
