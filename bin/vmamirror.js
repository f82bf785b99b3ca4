#!/usr/bin/env node
// The `vmamirror` command: runs the compiled CLI (built by `npm ci` through the prepare script).
import '../dist/cli/bin.js';
