// Entry of the `aci-batch` binary: runs the command tree on the real process streams and exits
// with the code it returns (documented in cli/README.md).
import { nodeIo, run } from './commands';

run(process.argv.slice(2), nodeIo()).then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    process.stderr.write(`aci-batch: ${(e as Error).stack ?? String(e)}\n`);
    process.exit(3);
  },
);
