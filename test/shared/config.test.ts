import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { configTable, loadSettings, SETTINGS, type SettingName } from '../../shared/config.js';
import { configError } from '../helpers/config.js';

const TICKET_KEYS = `k1:${'s'.repeat(32)}`;

const problemsOf = (names: SettingName[], env: Record<string, string>): string[] =>
  configError(() => loadSettings(names, env))?.problems ?? [];

describe('config', () => {
  it('applies defaults and coerces numbers', () => {
    const settings = loadSettings(['UPCALL_REGION', 'UPCALL_BUCKET', 'UPCALL_TICKET_TTL_SECONDS'], {
      UPCALL_BUCKET: 'my-bucket',
      UPCALL_TICKET_TTL_SECONDS: '3600',
    });
    expect(settings).toEqual({
      UPCALL_REGION: 'cn-hangzhou',
      UPCALL_BUCKET: 'my-bucket',
      UPCALL_TICKET_TTL_SECONDS: 3600,
    });
  });

  it('treats an empty value as unset', () => {
    expect(problemsOf(['UPCALL_BUCKET'], { UPCALL_BUCKET: '  ' })).toEqual(['UPCALL_BUCKET is required']);
  });

  const invalid: Array<[SettingName, string]> = [
    ['UPCALL_REGION', 'Hangzhou'],
    ['UPCALL_BUCKET', 'My_Bucket'],
    ['UPCALL_OSS_ENDPOINT', 'oss-cn-hangzhou.aliyuncs.com'],
    ['UPCALL_OSS_PUBLIC_ENDPOINT', 'ftp://x'],
    ['UPCALL_UPLOADS_PREFIX', 'uploads'],
    ['UPCALL_TICKET_KEYS', 'short'],
    ['UPCALL_TICKET_TTL_SECONDS', '60'],
    ['UPCALL_TICKET_TTL_SECONDS', 'a day'],
    ['UPCALL_CALLBACK_TRUSTED_KEY_URL_PREFIX', 'http://127.0.0.1:9000'],
    ['UPCALL_LOG_LEVEL', 'verbose'],
  ];
  it.each(invalid)('names %s when it is %j', (name, value) => {
    const problems = problemsOf([name], { [name]: value });
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(new RegExp(`^${name} `));
  });

  it('reports every bad setting at once, and never echoes a secret', () => {
    const problems = problemsOf(['UPCALL_BUCKET', 'UPCALL_TICKET_KEYS', 'UPCALL_REGION'], {
      UPCALL_TICKET_KEYS: 'hunter2',
      UPCALL_REGION: 'x',
    });
    expect(problems.map((p) => p.split(' ')[0])).toEqual([
      'UPCALL_BUCKET',
      'UPCALL_TICKET_KEYS',
      'UPCALL_REGION',
    ]);
    expect(problems.join()).not.toContain('hunter2');
  });

  it('reads every registered setting back from its own default written out', () => {
    for (const [name, { schema }] of Object.entries(SETTINGS)) {
      const fallback = (schema as { default?: unknown }).default;
      if (fallback === undefined || fallback === '') continue;
      expect(loadSettings([name as SettingName], { [name]: String(fallback) }), name).toEqual({
        [name]: fallback,
      });
    }
  });

  it('reads booleans and the choices of a union, and refuses others', () => {
    expect(loadSettings(['UPCALL_IMAGE_KEEP_ANIMATION'], { UPCALL_IMAGE_KEEP_ANIMATION: 'false' })).toEqual({
      UPCALL_IMAGE_KEEP_ANIMATION: false,
    });
    expect(problemsOf(['UPCALL_IMAGE_KEEP_ANIMATION'], { UPCALL_IMAGE_KEEP_ANIMATION: 'yes' })).toEqual([
      'UPCALL_IMAGE_KEEP_ANIMATION must be boolean (true or false) (got "yes")',
    ]);
    expect(problemsOf(['UPCALL_TICKET_TTL_SECONDS'], { UPCALL_TICKET_TTL_SECONDS: '1000.5' })).toEqual([
      'UPCALL_TICKET_TTL_SECONDS must be integer (got "1000.5")',
    ]);
    expect(problemsOf(['UPCALL_LOG_LEVEL'], { UPCALL_LOG_LEVEL: 'loud' })).toEqual([
      'UPCALL_LOG_LEVEL must be one of fatal, error, warn, info, debug, trace, silent (got "loud")',
    ]);
  });

  it('accepts valid values', () => {
    expect(problemsOf(['UPCALL_TICKET_KEYS'], { UPCALL_TICKET_KEYS: TICKET_KEYS })).toEqual([]);
  });

  it('the README configuration table is the one generated from the registry', () => {
    const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
    const table = /<!-- config-table:start -->\n([\s\S]*?)\n<!-- config-table:end -->/.exec(readme)?.[1];
    expect(table, 'run `npm run config-table` and paste the output into the README').toBe(configTable());
    for (const name of Object.keys(SETTINGS)) expect(table).toContain(`| \`${name}\` |`);
  });
});
