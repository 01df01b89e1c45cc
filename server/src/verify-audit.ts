/** `pnpm --filter @accesslens/server verify-audit`: checks the audit hash chain of DATABASE_URL. */
import { verifyAuditChain } from './audit.ts';
import { ConfigError, loadConfig } from './config.ts';
import { openDatabase } from './db.ts';

try {
  const config = loadConfig();
  const db = await openDatabase(config.databaseUrl, config.databaseAuthToken);
  const result = await verifyAuditChain(db);
  db.close();
  if (result.ok) {
    console.log(`ok: ${result.events} audit events, chain intact`);
  } else {
    console.log(`broken at seq ${result.brokenSeq}: ${result.reason} (${result.events} events verified before it)`);
    process.exitCode = 1;
  }
} catch (error) {
  console.error(error instanceof ConfigError ? error.message : error);
  process.exitCode = 2;
}
