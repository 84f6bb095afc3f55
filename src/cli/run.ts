// Source entry for development and tests (`node --import tsx src/cli/run.ts`); bin/ uses the built copy.
import { main } from './main.js';

process.exitCode = await main(process.argv.slice(2));
