#!/usr/bin/env node
// Executable shim: the compiled program lives in dist/ (npm run build).
import '../dist/bin/cmd_archiver.js';
