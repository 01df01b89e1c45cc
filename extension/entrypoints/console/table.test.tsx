// @vitest-environment happy-dom
import { type ComponentChild, render } from 'preact';
import { afterEach, describe, expect, it } from 'vitest';
import { setTestLocale } from '../../locales/testing';
import { DataTable, Loading, Problem, Table } from './table';

const host = document.createElement('div');
const show = (node: ComponentChild) => {
  render(node, host);
  return host;
};
afterEach(() => render(null, host));

interface Item {
  id: string;
  name: string;
}
const row = (x: Item) => (
  <tr key={x.id} data-testid="row">
    <td>{x.name}</td>
  </tr>
);
const list = (rows: Item[] | null, more: { empty?: string; failed?: boolean } = {}) => (
  <DataTable testid="al-things" columns={['Name']} actions rows={rows} row={row} {...more} />
);

describe('the console table', () => {
  it('says "Loading…" as a status while the rows are on their way, and nothing once their load failed', () => {
    expect(show(list(null, { empty: 'None yet.' })).innerHTML).toBe('<p class="muted" role="status">Loading…</p>');
    expect(show(list(null, { empty: 'None yet.', failed: true })).innerHTML).toBe('');
    setTestLocale('zh-CN');
    expect(show(<Loading />).textContent).toBe('正在加载…');
  });

  it("shows the tab's empty text for no rows, or nothing where the tab counts its rows elsewhere", () => {
    expect(show(list([], { empty: 'None yet.' })).innerHTML).toBe('<p class="muted">None yet.</p>');
    expect(show(list([])).innerHTML).toBe('');
  });

  it('draws the rows under one header row, the actions column named for screen readers only', () => {
    const el = show(
      list(
        [
          { id: 'a', name: 'Ava' },
          { id: 'b', name: 'Ben' },
        ],
        { empty: 'None yet.' },
      ),
    );
    const table = el.querySelector('table')!;
    expect(table.getAttribute('data-testid')).toBe('al-things');
    expect(table.className).toBe('table');
    expect([...table.querySelectorAll('thead th')].map((th) => [th.getAttribute('scope'), th.innerHTML])).toEqual([
      ['col', 'Name'],
      ['col', '<span class="sr-only">Actions</span>'],
    ]);
    expect([...table.querySelectorAll('tbody [data-testid="row"]')].map((tr) => tr.textContent)).toEqual(['Ava', 'Ben']);
    expect(table.querySelector('caption')).toBeNull();
    expect(el.querySelector('.table-wrap')).toBeNull();
  });

  it('a wide table scrolls in its wrapper; the caption is its accessible name', () => {
    const el = show(
      <Table columns={['#', 'When']} caption="Audit log" wrap testid="al-log">
        <tr>
          <td>1</td>
          <td>today</td>
        </tr>
      </Table>,
    );
    const table = el.querySelector('.table-wrap > table[data-testid="al-log"]')!;
    expect(table.querySelector('caption')?.outerHTML).toBe('<caption class="sr-only">Audit log</caption>');
    expect([...table.querySelectorAll('th')].map((th) => th.textContent)).toEqual(['#', 'When']);
    expect(table.querySelectorAll('tbody td')).toHaveLength(2);
  });
});

describe('the console problem line', () => {
  it("says the server's reason as it is; only a 403 the server did not explain gets 'Admins only'", () => {
    const own = 'You cannot change your own roles: ask another administrator.';
    expect(show(<Problem error={{ code: 'forbidden', message: own }} />).textContent).toBe(own);
    expect(show(<Problem error={{ code: 'http_403', message: 'The server failed (403).' }} />).textContent).toBe(
      'Admins only: this console is for AccessLens administrators (and auditors, who may read). The server failed (403).',
    );
    expect(show(<Problem error={null} />).innerHTML).toBe('');
  });
});
