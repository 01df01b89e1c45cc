/**
 * A people CSV file → the rows it states, or every problem in it. Header, exactly:
 * `email,name,department,title,manager_email,hire_date,status,trainings` (trainings separated by `;`).
 * Each record states the whole person: an empty department or title is empty, an empty
 * manager_email means no manager, an empty hire_date none known, an empty status `active`, an empty
 * trainings column none completed.
 */
import { calendarDate, PEOPLE_CSV_HEADER, personEmail, personStatus, plainText, trainingId, type ImportProblem, type PersonStatus } from '@accesslens/shared';
import type { z } from 'zod';
import { decodeUtf8, parseCsv } from './csv.ts';

export interface CsvPersonRow {
  line: number;
  email: string;
  name: string;
  department: string;
  title: string;
  /** Lower-cased; null = no manager. */
  managerEmail: string | null;
  hireDate: string | null;
  status: PersonStatus;
  trainings: string[];
}

type Check<T> = (value: string) => { success: true; data: T } | { success: false; message: string };

/**
 * A column's schema as a check. Columns whose values repeat (departments, titles, dates, managers,
 * trainings) remember their answers: a 100,000-row file has few distinct values there.
 */
function checkOf<T>(schema: z.ZodType<T>, remember: boolean): Check<T> {
  const seen = new Map<string, ReturnType<Check<T>>>();
  return (value) => {
    const hit = remember ? seen.get(value) : undefined;
    if (hit) return hit;
    const r = schema.safeParse(value);
    const result: ReturnType<Check<T>> = r.success ? { success: true, data: r.data } : { success: false, message: r.error.issues[0]?.message ?? 'is invalid' };
    if (remember && seen.size < 50_000) seen.set(value, result);
    return result;
  };
}

function check<T>(test: Check<T>, value: string, line: number, field: string, problems: ImportProblem[]): T | undefined {
  const r = test(value);
  if (r.success) return r.data;
  problems.push({ line, field, message: `${r.message} (got "${clip(value)}")` });
  return undefined;
}

const clip = (s: string) => (s.length > 60 ? `${s.slice(0, 57)}…` : s);

/** Parses and checks a file's rows; the directory checks (managers, cycles) come after. */
export function parsePeopleCsv(bytes: Uint8Array): {
  rows: CsvPersonRow[];
  problems: ImportProblem[];
  /** Every valid email in the file, its line's other problems notwithstanding (a manager named there is no unknown manager). */
  fileEmails: Set<string>;
} {
  const fileEmails = new Set<string>();
  const decoded = decodeUtf8(bytes);
  if (!decoded.ok) return { rows: [], problems: [{ ...decoded.problem, field: '(file)' }], fileEmails };
  const { records, problems: syntax } = parseCsv(decoded.text);
  const problems: ImportProblem[] = syntax.map((p) => ({ ...p, field: '(line)' }));
  const header = records[0];
  if (!header || header.line !== 1) {
    problems.unshift({ line: 1, field: '(header)', message: `the first line must be the header ${PEOPLE_CSV_HEADER.join(',')}` });
    return { rows: [], problems, fileEmails };
  }
  const got = header.fields.map((f) => f.trim());
  if (got.join(',') !== PEOPLE_CSV_HEADER.join(',')) {
    const firstDiff = PEOPLE_CSV_HEADER.findIndex((h, i) => got[i] !== h);
    const detail =
      firstDiff >= 0
        ? `column ${firstDiff + 1} must be "${PEOPLE_CSV_HEADER[firstDiff]}", got ${got[firstDiff] === undefined ? 'nothing' : `"${clip(got[firstDiff]!)}"`}`
        : `it has ${got.length} columns, not ${PEOPLE_CSV_HEADER.length}`;
    problems.unshift({ line: 1, field: '(header)', message: `the header must be exactly ${PEOPLE_CSV_HEADER.join(',')}: ${detail}` });
    return { rows: [], problems, fileEmails };
  }

  const checkEmail = checkOf(personEmail, false);
  const checkName = checkOf(plainText(200, { required: true }), false);
  const checkText = checkOf(plainText(200), true);
  const checkManager = checkOf(personEmail, true);
  const checkDate = checkOf(calendarDate, true);
  const checkStatus = checkOf(personStatus, true);
  const checkTraining = checkOf(trainingId, true);
  const rows: CsvPersonRow[] = [];
  const firstLineOf = new Map<string, number>();
  for (let r = 1; r < records.length; r++) {
    const { line, fields } = records[r]!;
    if (fields.length !== PEOPLE_CSV_HEADER.length) {
      problems.push({
        line,
        field: '(line)',
        message: `has ${fields.length} fields, the header has ${PEOPLE_CSV_HEADER.length} (a value holding a comma must be in double quotes)`,
      });
      continue;
    }
    const [emailRaw, nameRaw, departmentRaw, titleRaw, managerRaw, hireRaw, statusRaw, trainingsRaw] = fields.map((f) => f.trim()) as [
      string,
      string,
      string,
      string,
      string,
      string,
      string,
      string,
    ];
    const before = problems.length;
    const email = check(checkEmail, emailRaw, line, 'email', problems);
    if (email !== undefined) {
      const seen = firstLineOf.get(email);
      if (seen !== undefined) problems.push({ line, field: 'email', message: `${email} is already on line ${seen}` });
      else firstLineOf.set(email, line);
      fileEmails.add(email);
    }
    const personName = check(checkName, nameRaw, line, 'name', problems);
    const department = check(checkText, departmentRaw, line, 'department', problems);
    const title = check(checkText, titleRaw, line, 'title', problems);
    const managerEmail = managerRaw === '' ? null : check(checkManager, managerRaw, line, 'manager_email', problems);
    if (managerEmail && email && managerEmail === email) problems.push({ line, field: 'manager_email', message: 'a person cannot be their own manager' });
    const hireDate = hireRaw === '' ? null : check(checkDate, hireRaw, line, 'hire_date', problems);
    const status: PersonStatus | undefined = statusRaw === '' ? 'active' : check(checkStatus, statusRaw.toLowerCase(), line, 'status', problems);
    const trainings: string[] = [];
    for (const t of trainingsRaw.split(';')) {
      if (t.trim() === '') continue;
      const parsed = check(checkTraining, t, line, 'trainings', problems);
      if (parsed !== undefined && !trainings.includes(parsed)) trainings.push(parsed);
    }
    if (problems.length > before) continue;
    rows.push({
      line,
      email: email!,
      name: personName!,
      department: department!,
      title: title!,
      managerEmail: managerEmail ?? null,
      hireDate: hireDate ?? null,
      status: status!,
      trainings,
    });
  }
  problems.sort((a, b) => a.line - b.line);
  return { rows, problems, fileEmails };
}
