/**
 * A viewer in its own process, so a test can kill it abruptly (SIGKILL: no DELETE, no DTLS
 * close, no ICE goodbye — a killed tab or a lost network). Usage:
 * `node --import tsx vanishingViewer.ts <whep endpoint>`; prints `{"location": ...}` once frames
 * arrive, then streams until killed (or for at most 60 s).
 */
import { WhepTestClient } from '@avatar-server/testkit';

const endpoint = process.argv[2];
if (!endpoint) throw new Error('usage: vanishingViewer.ts <whep endpoint>');
const client = new WhepTestClient();
const response = await client.connect(endpoint);
if (response.status !== 201) throw new Error(`POST: ${response.status} ${await response.text()}`);
await client.waitForFrames(10);
process.stdout.write(`${JSON.stringify({ location: client.location })}\n`);
setTimeout(() => process.exit(0), 60_000);
