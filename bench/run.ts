/**
 * `npm run bench`: every benchmark, printed as JSON with the machine and date. Record the figures
 * in docs/benchmarks.md. (The entry-point scheme comparison is separate and slow:
 * `npx tsx bench/entryPoints.ts`.)
 */
import { benchCompile } from './compileDefault.js';
import { benchNaturalness } from './naturalness.js';
import { machine } from './stats.js';
import { benchSwitchLatency } from './switchLatency.js';

const compile = await benchCompile();
console.log(
  JSON.stringify({ benchmark: 'compile-default-avatar', machine: machine(), ...compile }, null, 2),
);
const latency = await benchSwitchLatency();
console.log(
  JSON.stringify({ benchmark: 'switch-latency', machine: machine(), ...latency }, null, 2),
);
const natural = await benchNaturalness();
console.log(
  JSON.stringify({ benchmark: 'naturalness', machine: machine(), avatars: natural }, null, 2),
);
const { benchBrowser } = await import('./browser.js');
console.log(
  JSON.stringify({ benchmark: 'browser', machine: machine(), ...(await benchBrowser()) }, null, 2),
);
const { benchBrowserVoice } = await import('./browserVoice.js');
console.log(
  JSON.stringify(
    { benchmark: 'browser-voice', machine: machine(), ...(await benchBrowserVoice()) },
    null,
    2,
  ),
);
const { benchCapacity } = await import('./capacity.js');
console.log(JSON.stringify(await benchCapacity(), null, 2));
process.exit(0);
