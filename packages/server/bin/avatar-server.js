#!/usr/bin/env node
// The `avatar-server` command. npm links a package's bins when it installs (`npm ci`), before
// `npm run build` has made dist/, and links nothing for a file that does not exist yet; `npx`
// would then fetch a package of that name from the public registry. So the bin is this committed
// file, and it loads the built CLI.
import { existsSync } from 'node:fs';

const cli = new URL('../dist/cli.js', import.meta.url);
if (!existsSync(cli)) {
  console.error('avatar-server: the server is not built yet: run npm run build first');
  process.exit(1);
}
await import(cli.href);
