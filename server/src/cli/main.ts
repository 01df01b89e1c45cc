/** `pnpm accesslens <command>`: the administrator's command line (see `pnpm accesslens --help`). */
import { runCli } from './run.ts';

const code = await runCli(process.argv.slice(2), {
  stdin: process.stdin,
  out: (line) => process.stdout.write(`${line}\n`),
  err: (line) => process.stderr.write(`${line}\n`),
  env: process.env,
  now: () => new Date(),
});
process.exitCode = code;
