#!/usr/bin/env node
'use strict';
// Runs the compiled CLI when `make build` has produced it, otherwise the TypeScript sources through ts-node.
const path = require('path');
const fs = require('fs');
const root = path.join(__dirname, '..');
const built = path.join(root, 'dist', 'src', 'cli', 'main.js');
if (fs.existsSync(built)) {
  require(built).main(process.argv.slice(2));
} else {
  require('ts-node').register({ transpileOnly: true, project: path.join(root, 'tsconfig.json') });
  require(path.join(root, 'src', 'cli', 'main.ts')).main(process.argv.slice(2));
}
