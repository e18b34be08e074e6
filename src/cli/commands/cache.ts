// fviz cache ls|clear: the compiled-program cache ($FVIZ_CACHE, default ~/.cache/fviz/programs).
import type { CommandModule } from './types.ts';

export const cacheCommand: CommandModule = (y) =>
  y.command(
    'cache <action>',
    'the compiled gradient programs cached on disk: ls lists them (most recently used first), clear removes them',
    (c) =>
      c
        .positional('action', { choices: ['ls', 'clear'] as const, describe: 'ls or clear' })
        .option('json', { type: 'boolean', describe: 'print as JSON' }),
    async (a) => {
      const { clearPrograms, listPrograms, programCacheDir, programCacheLimit } = await import('../../runtime/program-cache.ts');
      const dir = programCacheDir();
      const mb = (b: number) => `${(b / 1024 / 1024).toFixed(1)} MB`;
      if (a.action === 'clear') {
        const r = clearPrograms(dir);
        console.log(a.json ? JSON.stringify({ dir, ...r }) : `removed ${r.entries} program(s), ${mb(r.bytes)}, from ${dir}`);
        return;
      }
      const entries = listPrograms(dir);
      if (a.json) {
        console.log(JSON.stringify({ dir, limitBytes: programCacheLimit(), entries }, null, 2));
        return;
      }
      const total = entries.reduce((s, e) => s + e.bytes, 0);
      console.log(`${dir}: ${entries.length} program(s), ${mb(total)} of ${mb(programCacheLimit())}`);
      for (const e of entries) console.log(`${e.key.slice(0, 12)}  ${mb(e.bytes).padStart(10)}  ${e.lastUsed.toISOString()}  ${e.label}`);
    },
  );
