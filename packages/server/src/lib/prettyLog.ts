/**
 * pino's JSON lines as a person reads them at a terminal:
 *
 *   13:02:41.312 INFO  [default] avatar compiled compileMs=24325 encodedFrames=7800
 *   13:02:41.398 INFO  GET /avatars 200 3 ms
 *
 * Small on purpose (no dependency, runs in the process, so nothing is lost at exit): time, level,
 * the avatar or session the line is about, the message, then the other fields as key=value. The
 * compile's progress lines are drawn as one bar redrawn in place when the output is a terminal.
 * What reaches this formatter has already been through pino's redaction (lib/logger.ts).
 */

/** The message of a compile's progress lines (media/compileAvatar.ts), drawn as a bar. */
export const PROGRESS_MESSAGE = 'compiling';

export type PrettyOptions = {
  /** ANSI colours (a terminal without NO_COLOR). */
  color: boolean;
  /** Redraw progress lines in place (a terminal); otherwise each is a line of its own. */
  redraw: boolean;
  /** Width to cut a redrawn line to, so it never wraps (a wrapped line cannot be redrawn). */
  columns?: number | undefined;
};

const LEVELS: Record<number, [name: string, colour: number]> = {
  10: ['TRACE', 90],
  20: ['DEBUG', 36],
  30: ['INFO ', 32],
  40: ['WARN ', 33],
  50: ['ERROR', 31],
  60: ['FATAL', 35],
};

/** Fields shown before the message or folded into it, or that only a machine wants. */
const SHOWN_ELSEWHERE = new Set(['level', 'time', 'msg', 'pid', 'hostname', 'module', 'avatar']);
const SHOWN_ELSEWHERE_REQUEST = new Set([...SHOWN_ELSEWHERE, 'req', 'res', 'responseTime']);

type LogRecord = Record<string, unknown> & { level?: number; time?: number; msg?: string };

const paint = (on: boolean, code: number, text: string) =>
  on ? `\x1b[${code}m${text}\x1b[0m` : text;

function clock(time: unknown): string {
  const d = typeof time === 'number' ? new Date(time) : new Date();
  const two = (n: number) => String(n).padStart(2, '0');
  return `${two(d.getHours())}:${two(d.getMinutes())}:${two(d.getSeconds())}.${String(d.getMilliseconds()).padStart(3, '0')}`;
}

function value(v: unknown): string {
  if (typeof v === 'string') return /^[^\s"=]+$/.test(v) ? v : JSON.stringify(v);
  if (typeof v === 'number' || typeof v === 'boolean' || v === null) return String(v);
  const text = JSON.stringify(v) ?? String(v);
  return text.length > 200 ? `${text.slice(0, 199)}…` : text;
}

/** An error as pino's serializer leaves it ({type, message, stack}) or as a plain message. */
function errorText(err: unknown): { message: string; stack?: string } {
  if (err && typeof err === 'object') {
    const e = err as { message?: unknown; stack?: unknown };
    const message = typeof e.message === 'string' ? e.message : JSON.stringify(err);
    return typeof e.stack === 'string' ? { message, stack: e.stack } : { message };
  }
  return { message: String(err) };
}

/** `GET /avatars 200 3 ms`: a pino-http request line. */
function requestText(record: LogRecord): string | undefined {
  const req = record.req as { method?: string; url?: string } | undefined;
  const res = record.res as { statusCode?: number } | undefined;
  if (!req?.method || !res) return undefined;
  const ms =
    typeof record.responseTime === 'number' ? ` ${Math.round(record.responseTime)} ms` : '';
  return `${req.method} ${req.url ?? ''} ${res.statusCode ?? ''}${ms}`;
}

/** `[####......]  42 %  encoding speaking, about 9 s left` */
function progressText(record: LogRecord): string {
  const fraction = Math.min(1, Math.max(0, Number(record.progress)));
  const width = 24;
  const done = Math.round(fraction * width);
  const what = [record.phase, record.loop].filter((x) => typeof x === 'string').join(' ');
  const eta = typeof record.etaSeconds === 'number' ? `about ${record.etaSeconds} s left` : '';
  const tail = [what, eta].filter(Boolean).join(', ');
  const percent = `${Math.floor(fraction * 100)} %`.padStart(5);
  const bar = `[${'#'.repeat(done)}${'.'.repeat(width - done)}]`;
  return `${PROGRESS_MESSAGE} ${bar} ${percent}${tail ? `  ${tail}` : ''}`;
}

export const isProgressRecord = (record: LogRecord) =>
  record.msg === PROGRESS_MESSAGE && typeof record.progress === 'number';

/** One record as one line (plus an indented stack for an error that carries one). */
export function formatRecord(record: LogRecord, color: boolean): string {
  const [name, colour] = LEVELS[record.level ?? 30] ?? ['?    ', 0];
  const parts = [paint(color, 2, clock(record.time)), paint(color, colour, name)];
  const context = [record.module, record.avatar].filter((x) => typeof x === 'string');
  if (context.length) parts.push(paint(color, 2, `[${context.join(' ')}]`));
  let stack: string | undefined;
  if (isProgressRecord(record)) {
    parts.push(progressText(record));
  } else {
    const request = requestText(record);
    parts.push(request ?? String(record.msg ?? ''));
    const hidden = request ? SHOWN_ELSEWHERE_REQUEST : SHOWN_ELSEWHERE;
    const message = String(record.msg ?? '');
    for (const [key, v] of Object.entries(record)) {
      if (hidden.has(key) || v === undefined) continue;
      // A value the message already says (`ready: open <url>` and its url field) is not repeated.
      if (typeof v === 'string' && v.length >= 8 && message.includes(v)) continue;
      if (key === 'err') {
        const err = errorText(v);
        parts.push(`${paint(color, 2, 'err=')}${value(err.message)}`);
        if ((record.level ?? 30) >= 50 && err.stack) stack = err.stack;
        continue;
      }
      parts.push(`${paint(color, 2, `${key}=`)}${value(v)}`);
    }
  }
  const line = parts.join(' ');
  if (!stack) return line;
  const frames = stack
    .split('\n')
    .filter((l) => /^\s+at /.test(l))
    .map((l) => `    ${l.trim()}`);
  return [line, ...frames].join('\n');
}

/** A pino destination that writes readable lines to `out` (a terminal, usually). */
export function prettyDestination(
  out: { write(text: string): unknown },
  options: PrettyOptions,
): { write(line: string): void } {
  let barShown = false;
  return {
    write(line: string) {
      let record: LogRecord;
      try {
        record = JSON.parse(line) as LogRecord;
      } catch {
        out.write(line);
        return;
      }
      let text = formatRecord(record, options.color);
      const clear = barShown ? '\r\x1b[2K' : '';
      if (options.redraw && isProgressRecord(record)) {
        // Without colour codes the cut is by characters; with them, cut the plain text first.
        if (options.columns && !options.color) text = text.slice(0, options.columns - 1);
        else if (options.columns) {
          const plain = formatRecord(record, false);
          if (plain.length >= options.columns) text = plain.slice(0, options.columns - 1);
        }
        out.write(clear + text);
        barShown = true;
      } else {
        out.write(`${clear}${text}\n`);
        barShown = false;
      }
    },
  };
}
