// The CLI entry (bin/runstream.js loads its build). cli/main.ts only builds the
// command tree, so tests and tools can import it without running anything.
import { main } from './main.js';

await main(process.argv);
