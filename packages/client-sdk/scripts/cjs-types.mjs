// The CommonJS build's own copy of the type declarations, in a folder marked `"type": "commonjs"`:
// TypeScript reads a declaration's module format from the nearest package.json, and the package's
// ESM declarations would make a `require` consumer fail with TS1479.
import { cpSync, writeFileSync } from 'node:fs';

cpSync('dist/types', 'dist/cjs/types', { recursive: true });
writeFileSync('dist/cjs/package.json', `${JSON.stringify({ type: 'commonjs' })}\n`);
