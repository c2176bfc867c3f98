import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ConfigError, configFromEnv, configFromFlags, loadConfig, parseConfig } from './load.js';

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

  it.each([
    [{ publicIp: '1.2.3' }, /'publicIp'/],
    [{ tokens: ['short'] }, /'tokens\.0'/],
    [{ corsOrigins: [] }, /'corsOrigins'/],
    [{ iceServers: [{ url: 'stun:x' }] }, /'iceServers\.0/],
    [{ cacheMaxMb: -1 }, /'cacheMaxMb'/],
  ])('rejects the new settings %j naming the key', (input, message) => {
    expect(() => parseConfig(input)).toThrow(message);
  });

  it('reads lists, nested keys and booleans from AVATAR_* and flags; names a bad variable', () => {
    expect(
      configFromEnv({
        AVATAR_CORS_ORIGINS: 'https://a.example, https://b.example',
        AVATAR_ICE_USE_IPV6: 'true',
        AVATAR_ICE_SERVERS: 'stun:stun.example:3478',
        AVATAR_TOKENS: '["0123456789"]',
      }),
    ).toEqual({
      corsOrigins: ['https://a.example', 'https://b.example'],
      ice: { useIpv6: true },
      iceServers: [{ urls: 'stun:stun.example:3478' }],
      tokens: ['0123456789'],
    });
    expect(() => configFromEnv({ AVATAR_PORT: 'abc' })).toThrow(
      /AVATAR_PORT: 'abc' is not a number/,
    );
    expect(() => configFromEnv({ AVATAR_ICE_USE_IPV6: 'yes' })).toThrow(/AVATAR_ICE_USE_IPV6/);
    expect(configFromFlags({ 'bitrate-kbps': '900', 'ice-port-range': '40000,40099' })).toEqual({
      bitrateKbps: 900,
      ice: { portRange: [40000, 40099] },
    });
  });

  it('flags beat the environment, which beats the file; nested keys merge', () => {
    const file = tempFile('port: 9000\nice:\n  portRange: [40000, 40100]\n');
    const config = loadConfig({
      file,
      env: { AVATAR_PORT: '9100', AVATAR_ICE_USE_IPV6: 'true' },
      overrides: configFromFlags({ port: '9200' }),
    });
    expect(config.port).toBe(9200);
    expect(config.ice).toMatchObject({ portRange: [40000, 40100], useIpv6: true });
  });

  it('reads the original system’s config.yaml spellings', () => {
    const file = tempFile(
      'resolution: [256, 256]\nvideos_dir: /opt/avatar-server/videos\nfps: 30\n',
    );
    expect(loadConfig({ file, env: {} })).toMatchObject({
      size: 256,
      videosDir: '/opt/avatar-server/videos',
      fps: 30,
    });
    expect(() => loadConfig({ file: tempFile('resolution: [512, 288]\n'), env: {} })).toThrow(
      /'size'.*not square/,
    );
    expect(() => loadConfig({ file: tempFile('cache_frames: 100\n'), env: {} })).toThrow(
      /unknown key 'cache_frames'.*cacheMaxMb/,
    );
  });

  it('config.example.yaml is valid and says the defaults', () => {
    const example = fileURLToPath(new URL('../../config.example.yaml', import.meta.url));
    expect(loadConfig({ file: example, env: {} })).toEqual(parseConfig({}));
  });
});
