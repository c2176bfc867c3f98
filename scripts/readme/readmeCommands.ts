/** One command a reader of the README would type, and where it is written. */
export type ReadmeCommand = { text: string; line: number };

/**
 * The commands README.md shows, in the order a reader meets them: every command of a ```bash (or
 * sh, shell) block, and every inline `npx avatar-server …` in the prose. A command continues on
 * the next line after a trailing backslash or inside an open single quote (a JSON body), as in
 * bash; lines that are only a comment are not commands.
 */
export function readmeCommands(markdown: string): ReadmeCommand[] {
  const commands: ReadmeCommand[] = [];
  const lines = markdown.split('\n');
  let fence: string | undefined; // the language of the code block we are in
  let pending: ReadmeCommand | undefined; // a command that continues on the next line
  lines.forEach((line, index) => {
    const lineNumber = index + 1;
    const opening = /^```(\w*)\s*$/.exec(line);
    if (fence === undefined && opening) {
      fence = opening[1] ?? '';
      return;
    }
    if (fence !== undefined) {
      if (line.trim() === '```') {
        if (pending)
          throw new Error(`README.md:${pending.line}: command not finished at the block's end`);
        fence = undefined;
        return;
      }
      if (!['bash', 'sh', 'shell'].includes(fence)) return;
      if (pending) {
        pending.text += `\n${line}`;
      } else {
        if (line.trim() === '' || line.trim().startsWith('#')) return;
        pending = { text: line, line: lineNumber };
      }
      if (!continues(pending.text)) {
        commands.push({ ...pending, text: pending.text.trim() });
        pending = undefined;
      }
      return;
    }
    for (const span of line.matchAll(/`(npx avatar-server [^`]*)`/g)) {
      commands.push({ text: span[1]!, line: lineNumber });
    }
  });
  return commands;
}

/**
 * A command goes on after a trailing backslash or while a quote is open, as in bash: quotes are
 * followed through the whole text, and a `#` after a space outside quotes starts a comment that
 * runs to the end of its line (so "each avatar's state" in a comment opens no quote).
 */
function continues(text: string): boolean {
  let quote: "'" | '"' | undefined;
  let comment = false;
  let code = ''; // the last line without its comment
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (c === '\n') {
      comment = false;
      code = '';
      continue;
    }
    if (comment) continue;
    if (quote === undefined && c === '#' && (i === 0 || /\s/.test(text[i - 1]!))) {
      comment = true;
      continue;
    }
    code += c;
    if (quote === undefined && (c === "'" || c === '"')) quote = c;
    else if (c === quote && !(quote === '"' && text[i - 1] === '\\')) quote = undefined;
  }
  return quote !== undefined || /\\\s*$/.test(code);
}
