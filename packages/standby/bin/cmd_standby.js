#!/usr/bin/env node
// cmd_standby: see packages/standby/src/main.ts (built into dist/ by `npm run build`).
import '../dist/main.js';
