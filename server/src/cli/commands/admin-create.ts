import { personEmail, plainText } from '@accesslens/shared';
import { hashPassword } from '../../auth/password.ts';
import { passwordProblem } from '../../auth/password-policy.ts';
import { newPersonId, writePeople } from '../../directory/people.ts';
import { runWrite } from '../../write.ts';
import { parseArgs, UsageError, type CliCommand, type CliIo } from '../command.ts';

/**
 * Reads the password from standard input: everything up to the end (one trailing line break
 * dropped), or, typed at a terminal, the first line. Never from the command line, where it would
 * land in shell history and process lists.
 */
async function readPassword(io: CliIo): Promise<string> {
  const tty = (io.stdin as { isTTY?: boolean }).isTTY === true;
  if (tty) io.err('Password (then Enter):');
  let text = '';
  for await (const chunk of io.stdin) {
    text += typeof chunk === 'string' ? chunk : Buffer.from(chunk as Uint8Array).toString('utf8');
    if (tty && text.includes('\n')) break;
  }
  if (tty) text = text.split('\n')[0]!;
  return text.replace(/\r?\n$/, '');
}

export const adminCreate: CliCommand = {
  name: 'admin create',
  summary: 'create an administrator who signs in with a password (read from standard input)',
  usage: 'admin create --email EMAIL --name NAME --password-stdin',
  async run(argv, { io, db }) {
    const { values, flags, positionals } = parseArgs(argv, { values: ['email', 'name'], flags: ['password-stdin'] });
    if (positionals.length > 0) throw new UsageError(`unexpected argument "${positionals[0]}"`);
    if (values.email === undefined) throw new UsageError('--email is required');
    if (values.name === undefined) throw new UsageError('--name is required');
    if (!flags.has('password-stdin'))
      throw new UsageError('--password-stdin is required: pipe the password in, e.g. `printf %s "$PASSWORD" | pnpm accesslens admin create …`');
    const email = personEmail.safeParse(values.email.trim());
    if (!email.success) {
      io.err(`--email: ${email.error.issues[0]?.message ?? 'is invalid'} (got "${values.email}")`);
      return 1;
    }
    const name = plainText(200, { required: true }).safeParse(values.name);
    if (!name.success) {
      io.err(`--name: ${name.error.issues[0]?.message ?? 'is invalid'}`);
      return 1;
    }
    const password = await readPassword(io);
    const weak = passwordProblem(password, { email: email.data, name: name.data });
    if (weak) {
      io.err(`refused: ${weak}. Nothing was created.`);
      return 1;
    }
    const database = await db();
    const hash = await hashPassword(password);
    const created = await runWrite(database, io.now(), async (w) => {
      const existing = await w.tx.execute({ sql: 'SELECT id, status, roles FROM people WHERE email = ?', args: [email.data] });
      const row = existing.rows[0];
      if (row) return { id: null, exists: { id: String(row.id), status: String(row.status), roles: JSON.parse(String(row.roles)) as string[] } };
      const id = newPersonId();
      await writePeople(
        w,
        [
          {
            before: null,
            after: {
              id,
              email: email.data,
              name: name.data,
              department: '',
              title: '',
              managerId: null,
              hireDate: null,
              status: 'active',
              roles: ['requester', 'admin'],
              trainings: [],
              scimUserName: null,
              externalId: null,
            },
          },
        ],
        { via: 'cli', actorId: null },
      );
      await w.tx.execute({ sql: 'UPDATE people SET password_hash = ? WHERE id = ?', args: [hash, id] });
      await w.audit({ actorId: null, action: 'auth.password_set', subjectType: 'person', subjectId: id, data: { via: 'cli' } });
      return { id, exists: null };
    });
    if (created.exists) {
      const { id, status, roles } = created.exists;
      io.err(
        `refused: ${email.data} is already in the directory (id ${id}, ${status}, roles ${roles.join(', ')}). ` +
          'Nothing was changed. Use another email, or change that person from the admin API.',
      );
      return 1;
    }
    io.out(`ok: created administrator ${name.data} <${email.data}> (id ${created.id})`);
    io.out("They can now sign in on the extension's options page with this email and password.");
    return 0;
  },
};
