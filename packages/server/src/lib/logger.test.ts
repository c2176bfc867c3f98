import { describe, expect, it } from 'vitest';
import { chooseLogFormat, createLogger, type LogOutput } from './logger.js';

/** A stream that keeps what the logger writes, as a terminal or as a pipe. */
function capture(isTTY: boolean): LogOutput & { text: () => string } {
  let text = '';
  return {
    isTTY,
    columns: 100,
    write(chunk: string) {
      text += chunk;
      return true;
    },
    text: () => text,
  };
}

describe('log format', () => {
  it('auto: readable lines at a terminal, JSON when piped; an explicit setting wins', () => {
    expect(chooseLogFormat('auto', { isTTY: true })).toBe('pretty');
    expect(chooseLogFormat('auto', { isTTY: false })).toBe('json');
    expect(chooseLogFormat('auto', {})).toBe('json');
    expect(chooseLogFormat('json', { isTTY: true })).toBe('json');
    expect(chooseLogFormat('pretty', { isTTY: false })).toBe('pretty');
  });

  it.each(['json', 'pretty'] as const)('%s: tokens and Authorization never appear', (format) => {
    const out = capture(false);
    const log = createLogger('info', format, out);
    log.info(
      {
        token: 'tok-secret-1',
        tokens: ['tok-secret-2'],
        tokenSecret: 'tok-secret-3',
        headers: { authorization: 'Bearer tok-secret-4' },
        req: { headers: { authorization: 'Bearer tok-secret-5' } },
        config: { token: 'tok-secret-6', tokenSecret: 'tok-secret-7' },
        kept: 'visible',
      },
      'a line with secrets',
    );
    expect(out.text()).toContain('a line with secrets');
    expect(out.text()).toContain('visible');
    expect(out.text()).not.toMatch(/tok-secret/);
  });

  it('json: one JSON object per line, level, time and message', () => {
    const out = capture(false);
    createLogger('info', 'json', out).info({ url: 'http://localhost:8765/' }, 'listening');
    const record = JSON.parse(out.text().trim());
    expect(record).toMatchObject({ level: 30, msg: 'listening', url: 'http://localhost:8765/' });
    expect(typeof record.time).toBe('number');
  });

  it('pretty: time, level, message and fields on one line, not JSON', () => {
    const out = capture(false);
    createLogger('info', 'pretty', out).info({ url: 'http://localhost:8765' }, 'listening');
    expect(out.text()).toMatch(
      /^\d\d:\d\d:\d\d\.\d{3} INFO {2}listening url=http:\/\/localhost:8765\n$/,
    );
  });

  it('debug lines are off at the default level and on with debug', () => {
    const quiet = capture(false);
    createLogger('info', 'json', quiet).child({ module: 'webrtc' }).debug('ICE state');
    expect(quiet.text()).toBe('');
    const loud = capture(false);
    createLogger('debug', 'json', loud).child({ module: 'webrtc' }).debug('ICE state');
    expect(JSON.parse(loud.text())).toMatchObject({
      level: 20,
      module: 'webrtc',
      msg: 'ICE state',
    });
  });
});
