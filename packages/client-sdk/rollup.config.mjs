// Bundles tsc's output (dist/tsc) into an ES module, a CommonJS module for `require`, and an IIFE
// global for a <script> tag, all minified: the SDK is small enough that one build of each is all
// a page needs. Source maps go through to the TypeScript sources (shipped in `src/`).
import { readFileSync } from 'node:fs';
import terser from '@rollup/plugin-terser';

// Separate instances: `module: true` would drop the IIFE's unused-looking global.
const esm = terser({ ecma: 2020, module: true, compress: { passes: 2 } });
const cjs = terser({ ecma: 2020, compress: { passes: 2 } });
const iife = terser({ ecma: 2020, compress: { passes: 2 } });

/** Hands rollup tsc's own map of each file, so the bundle's map ends at src/*.ts, not dist/tsc. */
const tscMaps = {
  name: 'tsc-maps',
  load(id) {
    if (!id.endsWith('.js')) return null;
    return { code: readFileSync(id, 'utf8'), map: readFileSync(`${id}.map`, 'utf8') };
  },
};

export default {
  input: 'dist/tsc/index.js',
  plugins: [tscMaps],
  output: [
    { file: 'dist/avatar.mjs', format: 'es', plugins: [esm], sourcemap: true },
    { file: 'dist/cjs/avatar.js', format: 'cjs', plugins: [cjs], sourcemap: true },
    {
      file: 'dist/avatar.iife.js',
      format: 'iife',
      name: 'AvatarServer',
      plugins: [iife],
      sourcemap: true,
    },
  ],
};
