import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createMutation, decisionMutation, harness, type Harness } from '../testing.ts';

let h: Harness;
beforeEach(async () => {
  h = await harness();
});
afterEach(async () => {
  vi.useRealTimers();
  await h.close();
});

/** Reads the stream until `text` appears (or fails after a while). */
async function readUntil(reader: ReadableStreamDefaultReader<Uint8Array>, text: string, seen = { buf: '' }) {
  const decoder = new TextDecoder();
  const deadline = Date.now() + 3000;
  while (!seen.buf.includes(text)) {
    if (Date.now() > deadline) throw new Error(`no "${text}" in ${JSON.stringify(seen.buf)}`);
    const { value, done } = await reader.read();
    if (done) throw new Error(`stream ended before "${text}": ${JSON.stringify(seen.buf)}`);
    seen.buf += decoder.decode(value, { stream: true });
  }
  return seen;
}

const until = async (check: () => boolean) => {
  for (let i = 0; i < 100 && !check(); i++) await new Promise((r) => setTimeout(r, 10));
  expect(check()).toBe(true);
};

describe('GET /api/sync/events', () => {
  it('pokes the approver and the requester after a mutation concerning them, not others', async () => {
    const ava = await h.signIn('ava@acme.test');
    const ben = await h.signIn('ben@acme.test');
    const dan = await h.signIn('dan@acme.test');
    const streams = await Promise.all([ben, ava, dan].map((t) => h.get(t, '/api/sync/events')));
    for (const s of streams) {
      expect(s.status).toBe(200);
      expect(s.headers.get('Content-Type')).toContain('text/event-stream');
    }
    const [benR, avaR, danR] = streams.map((s) => s.body!.getReader()) as [
      ReadableStreamDefaultReader<Uint8Array>,
      ReadableStreamDefaultReader<Uint8Array>,
      ReadableStreamDefaultReader<Uint8Array>,
    ];
    for (const r of [benR, avaR, danR]) await readUntil(r, ': connected');
    await until(() => h.notifier.listenerCount() === 3);

    const m = createMutation();
    await h.mutate(ava, [m]);
    expect((await readUntil(benR, 'event: poke')).buf).toContain('event: poke\ndata: {}\n\n');
    await readUntil(avaR, 'event: poke');

    // Dan is not concerned: nothing arrives for him.
    const nothing = await Promise.race([danR.read().then(() => 'data'), new Promise((r) => setTimeout(() => r('quiet'), 150))]);
    expect(nothing).toBe('quiet');

    await h.mutate(ben, [decisionMutation(m.args.requestId, 'approve')]);
    await readUntil(avaR, 'event: poke', { buf: '' });

    // Disconnecting unsubscribes.
    await benR.cancel();
    await until(() => h.notifier.listenerCount('p-ben') === 0);
    await avaR.cancel();
    await danR.cancel();
    await until(() => h.notifier.listenerCount() === 0);
  });

  it('sends a keep-alive comment every 20 seconds', async () => {
    const ben = await h.signIn('ben@acme.test');
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval'] });
    const res = await h.get(ben, '/api/sync/events');
    const reader = res.body!.getReader();
    await readUntil(reader, ': connected');
    vi.advanceTimersByTime(20_000);
    await readUntil(reader, ': keep-alive\n\n');
    await reader.cancel();
  });

  it('needs a session', async () => {
    expect((await h.get(null, '/api/sync/events')).status).toBe(401);
  });
});
