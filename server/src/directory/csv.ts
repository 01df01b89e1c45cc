/**
 * CSV as RFC 4180 defines it (https://www.rfc-editor.org/rfc/rfc4180#section-2): records end with
 * CRLF (LF and a lone CR are accepted too), fields are separated by commas, a field holding a comma,
 * a quote or a line break is enclosed in double quotes, and a quote inside it is written twice.
 * Every problem is reported with the line where its record starts; parsing goes on with the next
 * record, so one pass finds them all.
 */

export interface CsvRecord {
  /** 1-based line of the file where the record starts. */
  line: number;
  fields: string[];
}

export interface CsvProblem {
  line: number;
  message: string;
}

const QUOTE = 34;
const COMMA = 44;
const LF = 10;
const CR = 13;

/**
 * Decodes a file's bytes as UTF-8, with or without a byte-order mark. Invalid UTF-8 (or a UTF-16
 * file) is refused with the line of the first bad byte.
 */
export function decodeUtf8(bytes: Uint8Array): { ok: true; text: string } | { ok: false; problem: CsvProblem } {
  if ((bytes[0] === 0xff && bytes[1] === 0xfe) || (bytes[0] === 0xfe && bytes[1] === 0xff))
    return { ok: false, problem: { line: 1, message: 'the file is UTF-16: save it as UTF-8 (with or without BOM)' } };
  try {
    // ignoreBOM: false = a leading BOM is consumed, not returned.
    return { ok: true, text: new TextDecoder('utf-8', { fatal: true, ignoreBOM: false }).decode(bytes) };
  } catch {
    let line = 1;
    let start = 0;
    const strict = new TextDecoder('utf-8', { fatal: true });
    for (let i = 0; i <= bytes.length; i++) {
      if (i === bytes.length || bytes[i] === LF) {
        try {
          strict.decode(bytes.subarray(start, i));
        } catch {
          break;
        }
        line++;
        start = i + 1;
      }
    }
    return { ok: false, problem: { line, message: 'the file is not valid UTF-8: save it as UTF-8 (with or without BOM)' } };
  }
}

/** Parses CSV text into records; blank lines are skipped. */
export function parseCsv(text: string): { records: CsvRecord[]; problems: CsvProblem[] } {
  const records: CsvRecord[] = [];
  const problems: CsvProblem[] = [];
  const n = text.length;
  let i = 0;
  let line = 1;

  /** Skips to the start of the next line (after a broken record). */
  const skipLine = () => {
    while (i < n) {
      const c = text.charCodeAt(i++);
      if (c === LF) {
        line++;
        return;
      }
      if (c === CR) {
        if (text.charCodeAt(i) === LF) i++;
        line++;
        return;
      }
    }
  };

  while (i < n) {
    const startLine = line;
    // A blank line is no record.
    const first = text.charCodeAt(i);
    if (first === LF || first === CR) {
      i += first === CR && text.charCodeAt(i + 1) === LF ? 2 : 1;
      line++;
      continue;
    }
    const fields: string[] = [];
    let broken = false;
    for (;;) {
      // One field, starting at i.
      if (text.charCodeAt(i) === QUOTE) {
        let value = '';
        let from = ++i;
        let closed = false;
        while (i < n) {
          const c = text.charCodeAt(i);
          if (c === QUOTE) {
            if (text.charCodeAt(i + 1) === QUOTE) {
              value += text.slice(from, i + 1);
              i += 2;
              from = i;
              continue;
            }
            value += text.slice(from, i);
            i++;
            closed = true;
            break;
          }
          if (c === LF || (c === CR && text.charCodeAt(i + 1) !== LF)) line++;
          i++;
        }
        if (!closed) {
          problems.push({ line: startLine, message: 'a quoted field is not closed: its closing " is missing' });
          return { records, problems };
        }
        fields.push(value);
        const next = i < n ? text.charCodeAt(i) : -1;
        if (next !== COMMA && next !== LF && next !== CR && next !== -1) {
          problems.push({ line, message: 'a quoted field must end at its closing " (a " inside it is written "")' });
          broken = true;
        }
      } else {
        let j = i;
        while (j < n) {
          const c = text.charCodeAt(j);
          if (c === COMMA || c === LF || c === CR) break;
          if (c === QUOTE && !broken) {
            problems.push({ line, message: 'a field holding " must be enclosed in double quotes, with each " written ""' });
            broken = true;
          }
          j++;
        }
        fields.push(text.slice(i, j));
        i = j;
      }
      if (broken) {
        skipLine();
        break;
      }
      const c = i < n ? text.charCodeAt(i) : -1;
      if (c === COMMA) {
        i++;
        continue;
      }
      // End of the record: a line break or the end of the file.
      if (c === CR) i += text.charCodeAt(i + 1) === LF ? 2 : 1;
      else if (c === LF) i++;
      if (c !== -1) line++;
      records.push({ line: startLine, fields });
      break;
    }
  }
  return { records, problems };
}
