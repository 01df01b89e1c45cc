import { describe, expect, it } from 'vitest';
import { parseSse } from './live';

describe('parseSse', () => {
  it('finds complete poke events and keeps the unfinished rest', () => {
    expect(parseSse('event: poke\ndata: {}\n\n: keep-alive\n\nevent: po')).toEqual({ events: ['poke'], rest: 'event: po' });
    expect(parseSse('event: poke\r\ndata: 1\r\n\r\n')).toEqual({ events: ['poke'], rest: '' });
    expect(parseSse('data: x\n\n')).toEqual({ events: ['message'], rest: '' });
  });
});
