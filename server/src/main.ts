import { ConfigError, isLoopbackHost, loadConfig } from './config.ts';
import { startDemoDesk, type DemoDesk } from './demo-desk.ts';
import { createServer } from './server.ts';

async function main() {
  let config;
  try {
    config = loadConfig();
  } catch (error) {
    if (error instanceof ConfigError) {
      console.error(error.message);
      process.exit(1);
    }
    throw error;
  }
  const server = await createServer(config);
  console.log(`AccessLens server listening on ${server.url}`);
  if (!isLoopbackHost(config.host))
    console.log(
      `  (HOST=${config.host}: reachable from other machines${config.seed === 'demo' ? '; the demo org with its published passwords is seeded because ACCESSLENS_SEED=demo' : ''})`,
    );
  if (config.oidc) console.log(`Single sign-on: "Sign in with ${config.oidc.name}" (OpenID Connect provider ${config.oidc.issuer})`);
  let desk: DemoDesk | null = null;
  if (config.demoCrmPort !== null) {
    desk = await startDemoDesk({ db: server.db, port: config.demoCrmPort });
    console.log(`Acme Desk (the demo's in-house CRM) on ${desk.url}`);
  }
  const admins = await server.db.execute(
    "SELECT COUNT(*) AS n FROM people p WHERE p.status = 'active' AND EXISTS (SELECT 1 FROM json_each(p.roles) WHERE value = 'admin')",
  );
  if (Number(admins.rows[0]!.n) === 0)
    console.log(
      'Nobody can administer AccessLens yet. Create the first administrator (the password is read from standard input):\n' +
        '  printf %s "$PASSWORD" | pnpm accesslens admin create --email you@company.example --name "Your Name" --password-stdin',
    );
  if (config.seed === 'demo') {
    // What a newcomer needs next; the demo people exist only in a database the demo seed created.
    console.log(
      [
        'Extension: load extension/.output/chrome-mv3 unpacked (chrome://extensions → Developer mode → Load unpacked),',
        `then sign in on its options page with server URL ${server.url} and a demo account:`,
        '  ava@acme.test / ava-demo-2026 (sales rep)   ben@acme.test / ben-demo-2026 (her manager, approver)',
        '  cara@acme.test / cara-demo-2026 (admin)',
        ...(desk
          ? [
              `On the settings page, "Allow AccessLens on localhost:${desk.port}", then open ${desk.url}/login, pick Ava Chen,`,
              `and open ${desk.url}/records/Invoice/INV-3001: Acme Desk refuses it and AccessLens explains and offers a request.`,
            ]
          : []),
      ].join('\n'),
    );
  }

  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    console.log(`AccessLens server stopping (${signal})`);
    const force = setTimeout(() => process.exit(1), 10_000);
    force.unref();
    Promise.all([server.close(), desk?.close()]).then(
      () => process.exit(0),
      (error) => {
        console.error(error);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
}

main().catch((error) => {
  console.error('AccessLens server failed to start:', error instanceof Error ? error.message : error);
  process.exit(1);
});
