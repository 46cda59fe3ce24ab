#!/usr/bin/env node
// The installed CLI runs the compiled build (npm ci runs `prepare`, which compiles).
import('../dist/cli/run.js').catch((error) => {
  console.error(`runstream: cannot start: ${error?.message ?? error}`);
  console.error('runstream: was the project built? run `npm run build`');
  process.exit(1);
});
