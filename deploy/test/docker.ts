import { spawn } from 'node:child_process';

export type Run = { code: number; stdout: string; stderr: string };

/** Runs `docker …` to its end; rejects with its output when it fails (unless `allowFailure`). */
export function docker(
  args: readonly string[],
  opts: { cwd?: string; allowFailure?: boolean; timeoutMs?: number } = {},
): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn('docker', args, { cwd: opts.cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
    });
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    const timer = setTimeout(() => child.kill('SIGTERM'), opts.timeoutMs ?? 5 * 60_000);
    child.on('error', (error) => {
      clearTimeout(timer);
      reject(new Error(`docker ${args[0]}: ${error.message}`));
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      const run = { code: code ?? -1, stdout, stderr };
      if (run.code === 0 || opts.allowFailure) resolve(run);
      else {
        const tail = `${stdout}\n${stderr}`.trim().split('\n').slice(-30).join('\n');
        reject(new Error(`docker ${args.join(' ')} exited with ${run.code}:\n${tail}`));
      }
    });
  });
}
