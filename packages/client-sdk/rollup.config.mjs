// Bundles tsc's output (dist/tsc) into an ES module and an IIFE global for a <script> tag, both
// minified: the SDK is small enough that one build of each is all a page needs.
import terser from '@rollup/plugin-terser';

// Separate instances: `module: true` would drop the IIFE's unused-looking global.
const esm = terser({ ecma: 2020, module: true, compress: { passes: 2 } });
const iife = terser({ ecma: 2020, compress: { passes: 2 } });

export default {
  input: 'dist/tsc/index.js',
  output: [
    { file: 'dist/avatar.mjs', format: 'es', plugins: [esm], sourcemap: true },
    {
      file: 'dist/avatar.iife.js',
      format: 'iife',
      name: 'AvatarServer',
      plugins: [iife],
      sourcemap: true,
    },
  ],
};
