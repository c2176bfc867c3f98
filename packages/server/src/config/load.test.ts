import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, configFromEnv, loadConfig, parseConfig } from './load.js';

const tempFile = (text: string) => {
  const file = join(mkdtempSync(join(tmpdir(), 'cfg-')), 'config.yaml');
  writeFileSync(file, text);
  return file;
};

describe('configuration', () => {
  it('has the original system’s defaults', () => {
    const config = parseConfig({});
    expect(config).toMatchObject({
      port: 8765,
      size: 512,
      fps: 25,
      encoder: 'auto',
      videosDir: 'videos',
    });
  });

  it.each([
    [{ port: 'eighty' }, /'port'/],
    [{ fps: 0 }, /'fps'/],
    [{ encoder: 'quicksync' }, /'encoder'.*auto.*nvenc.*x264/],
    [{ size: 500 }, /'size'/],
    [{ colour: 'blue' }, /unknown key 'colour'/],
    [{ ice: { portRange: [1] } }, /'ice\.portRange/],
  ])('rejects %j with a message naming the key', (input, message) => {
    expect(() => parseConfig(input)).toThrow(ConfigError);
    expect(() => parseConfig(input)).toThrow(message);
  });

  it('layers file ← AVATAR_* environment ← overrides', () => {
    const file = tempFile('port: 9000\nfps: 30\nbitrateKbps: 900\n');
    const config = loadConfig({
      file,
      env: { AVATAR_FPS: '20', AVATAR_VIDEOS_DIR: '/srv/videos', AVATAR_KEYFRAME_INTERVAL: '10' },
      overrides: { bitrateKbps: 1200 },
    });
    expect(config).toMatchObject({
      port: 9000,
      fps: 20,
      videosDir: '/srv/videos',
      keyframeInterval: 10,
      bitrateKbps: 1200,
    });
  });

  it('names the file for invalid YAML or a bad value in it', () => {
    expect(() => loadConfig({ file: tempFile('port: [1,\n'), env: {} })).toThrow(
      /config\.yaml: not valid YAML/,
    );
    expect(() => loadConfig({ file: tempFile('port: -1\n'), env: {} })).toThrow(
      /config\.yaml: 'port'/,
    );
    expect(() => loadConfig({ file: tempFile('- a\n- b\n'), env: {} })).toThrow(/mapping/);
  });

  it('reads environment variables by their AVATAR_ names only', () => {
    expect(configFromEnv({ AVATAR_PORT: '1234', PORT: '1', AVATAR_LOG_LEVEL: 'debug' })).toEqual({
      port: 1234,
      logLevel: 'debug',
    });
  });
});
