import { describe, expect, it } from 'vitest';
import { decodeUtf8, parseCsv } from './csv.ts';
import { parsePeopleCsv } from './people-csv.ts';

const HEADER = 'email,name,department,title,manager_email,hire_date,status,trainings';
const enc = (s: string) => new TextEncoder().encode(s);

describe('parseCsv (RFC 4180)', () => {
  it('reads quoted fields with commas, doubled quotes and line breaks, CRLF or LF, and no final line break', () => {
    const { records, problems } = parseCsv('a,"b,c","say ""hi"""\r\n"multi\r\nline",x,\n\nlast,"",z');
    expect(problems).toEqual([]);
    expect(records).toEqual([
      { line: 1, fields: ['a', 'b,c', 'say "hi"'] },
      { line: 2, fields: ['multi\r\nline', 'x', ''] },
      { line: 5, fields: ['last', '', 'z'] },
    ]);
  });

  it('reports stray and unclosed quotes with their lines and goes on', () => {
    const { records, problems } = parseCsv('ok,1\nbad"quote,2\n"closed"junk,3\nfine,4\n"never closed,5\n');
    expect(records.map((r) => r.fields[0])).toEqual(['ok', 'fine']);
    expect(problems.map((p) => p.line)).toEqual([2, 3, 5]);
    expect(problems[0]!.message).toContain('enclosed in double quotes');
    expect(problems[2]!.message).toContain('not closed');
  });

  it('decodes UTF-8 with or without BOM; refuses UTF-16 and invalid bytes with the line', () => {
    expect(decodeUtf8(new Uint8Array([0xef, 0xbb, 0xbf, ...enc('张伟')]))).toEqual({ ok: true, text: '张伟' });
    expect(decodeUtf8(enc('张伟'))).toEqual({ ok: true, text: '张伟' });
    expect(decodeUtf8(new Uint8Array([0xff, 0xfe, 0x41, 0x00]))).toMatchObject({ ok: false, problem: { line: 1 } });
    const bad = new Uint8Array([...enc('a\nb\n'), 0xc3, 0x28, ...enc('\n')]);
    expect(decodeUtf8(bad)).toMatchObject({ ok: false, problem: { line: 3, message: expect.stringContaining('not valid UTF-8') } });
  });
});

describe('parsePeopleCsv', () => {
  it('keeps Chinese names exactly, splits trainings on ";", reads a BOM and CRLF', () => {
    const file = `\uFEFF${HEADER}\r\nli.wei@acme.test,李伟,销售部,客户经理,,2024-09-02,active,security-awareness-2025; sox-controls\r\n"wang@acme.test","王芳, PhD","Sales","VP","li.wei@acme.test",,,\r\n`;
    const { rows, problems } = parsePeopleCsv(enc(file));
    expect(problems).toEqual([]);
    expect(rows).toEqual([
      {
        line: 2,
        email: 'li.wei@acme.test',
        name: '李伟',
        department: '销售部',
        title: '客户经理',
        managerEmail: null,
        hireDate: '2024-09-02',
        status: 'active',
        trainings: ['security-awareness-2025', 'sox-controls'],
      },
      {
        line: 3,
        email: 'wang@acme.test',
        name: '王芳, PhD',
        department: 'Sales',
        title: 'VP',
        managerEmail: 'li.wei@acme.test',
        hireDate: null,
        status: 'active',
        trainings: [],
      },
    ]);
  });

  it('reports every bad value with its line and column', () => {
    const file = [
      HEADER,
      'not-an-email,Ava,,,,,,',
      'ben@acme.test,,Sales,,,2025-02-30,gone,',
      'cara@acme.test,Cara,,,boss@,2025-1-2,active,ok;bad\u0007',
      'dan@acme.test,Dan,,,dan@acme.test,,,',
      'BEN@acme.test,Ben again,,,,,,',
      'eli@acme.test,Eli,too,many,fields,,,,,',
    ].join('\n');
    const { rows, problems } = parsePeopleCsv(enc(file));
    expect(rows).toEqual([]);
    expect(problems.map((p) => [p.line, p.field])).toEqual([
      [2, 'email'],
      [3, 'name'],
      [3, 'hire_date'],
      [3, 'status'],
      [4, 'manager_email'],
      [4, 'hire_date'],
      [4, 'trainings'],
      [5, 'manager_email'],
      [6, 'email'],
      [7, '(line)'],
    ]);
    expect(problems.find((p) => p.line === 6)!.message).toBe('ben@acme.test is already on line 3');
    expect(problems.find((p) => p.line === 3 && p.field === 'hire_date')!.message).toContain('YYYY-MM-DD');
  });

  it('refuses a wrong header, naming the first column that differs', () => {
    const { problems } = parsePeopleCsv(enc('email,name,dept,title,manager_email,hire_date,status,trainings\na@b.c,A,,,,,,\n'));
    expect(problems).toEqual([{ line: 1, field: '(header)', message: expect.stringContaining('column 3 must be "department", got "dept"') }]);
    expect(parsePeopleCsv(enc('')).problems[0]).toMatchObject({ line: 1, field: '(header)' });
  });
});
