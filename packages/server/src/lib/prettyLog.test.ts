import { describe, expect, it } from 'vitest';
import { formatRecord, PROGRESS_MESSAGE, prettyDestination } from './prettyLog.js';

const time = new Date(2026, 0, 2, 13, 4, 5, 67).getTime();
const line = (record: Record<string, unknown>) =>
  formatRecord({ time, level: 30, ...record }, false);

describe('readable log lines', () => {
  it('time, level, context, message, then the other fields', () => {
    expect(line({ avatar: 'default', msg: 'avatar compiled', compileMs: 24325 })).toBe(
      '13:04:05.067 INFO  [default] avatar compiled compileMs=24325',
    );
    expect(line({ level: 40, module: 'webrtc', msg: 'x', note: 'two words', list: [1, 2] })).toBe(
      '13:04:05.067 WARN  [webrtc] x note="two words" list=[1,2]',
    );
  });

  it('a request as method, URL, status and time; its id and headers left out', () => {
    expect(
      line({
        req: { id: 'f00', method: 'GET', url: '/avatars' },
        res: { statusCode: 200 },
        responseTime: 3.2,
        msg: 'request completed',
      }),
    ).toBe('13:04:05.067 INFO  GET /avatars 200 3 ms');
  });

  it('an error by its message, and its stack under an error line', () => {
    const err = { type: 'Error', message: 'boom', stack: 'Error: boom\n    at f (a.ts:1:1)' };
    expect(line({ level: 50, msg: 'request failed', err })).toBe(
      '13:04:05.067 ERROR request failed err=boom\n    at f (a.ts:1:1)',
    );
    expect(line({ level: 20, msg: 'dropped', err: 'no route' })).toBe(
      '13:04:05.067 DEBUG dropped err="no route"',
    );
  });

  it('does not repeat a value the message already says', () => {
    expect(line({ msg: 'ready: open http://localhost:8765/', url: 'http://localhost:8765/' })).toBe(
      '13:04:05.067 INFO  ready: open http://localhost:8765/',
    );
  });

  it('a compile progress line is a bar with the percentage and the time left', () => {
    expect(
      line({
        avatar: 'default',
        msg: PROGRESS_MESSAGE,
        phase: 'encoding',
        loop: 'idle',
        progress: 0.5,
        etaSeconds: 9,
      }),
    ).toBe(
      '13:04:05.067 INFO  [default] compiling [############............]  50 %  encoding idle, about 9 s left',
    );
  });

  it('at a terminal the bar is redrawn in place and the next line replaces it', () => {
    let out = '';
    const dest = prettyDestination(
      { write: (t: string) => (out += t) },
      { color: false, redraw: true, columns: 200 },
    );
    const json = (r: Record<string, unknown>) => `${JSON.stringify({ time, level: 30, ...r })}\n`;
    dest.write(json({ msg: PROGRESS_MESSAGE, progress: 0.1 }));
    dest.write(json({ msg: PROGRESS_MESSAGE, progress: 0.2 }));
    dest.write(json({ msg: 'avatar compiled' }));
    const parts = out.split('\r\x1b[2K');
    expect(parts).toHaveLength(3);
    expect(parts[0]).toMatch(/10 %$/); // no newline: the next write redraws it
    expect(parts[1]).toMatch(/20 %$/);
    expect(parts[2]).toBe('13:04:05.067 INFO  avatar compiled\n');
  });

  it('piped (no redraw), every progress line is a line of its own', () => {
    let out = '';
    const dest = prettyDestination(
      { write: (t: string) => (out += t) },
      { color: false, redraw: false },
    );
    dest.write(`${JSON.stringify({ time, level: 30, msg: PROGRESS_MESSAGE, progress: 0.1 })}\n`);
    dest.write(`${JSON.stringify({ time, level: 30, msg: PROGRESS_MESSAGE, progress: 0.2 })}\n`);
    expect(out.split('\n')).toHaveLength(3);
    expect(out).not.toContain('\r');
  });
});
