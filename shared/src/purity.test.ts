// shared/ runs in the server, the service worker and content scripts alike: it must stay pure.
// (Its tsconfig also compiles it without DOM or Node types; this test gives the readable reason.)
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sources(join(dir, e.name)) : e.name.endsWith('.ts') && !e.name.endsWith('.test.ts') ? [join(dir, e.name)] : [],
  );
}

describe('shared/ purity', () => {
  const files = sources(import.meta.dirname);
  it.each(files.map((f) => [f.slice(import.meta.dirname.length + 1), f]))('%s uses no DOM, browser, Node or database API', (_name, file) => {
    const code = readFileSync(file, 'utf8').replace(/\/\/.*$|\/\*[\s\S]*?\*\//gm, '');
    expect(code).not.toMatch(/from ['"](node:|fs|path|os|crypto|child_process|@libsql|hono|preact|wxt)/);
    expect(code).not.toMatch(/\b(chrome|browser)\.[a-z]+\.|\bdocument\.|\bwindow\.|\blocalStorage\b|\bprocess\.env\b/);
  });
});
