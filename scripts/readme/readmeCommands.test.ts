import { describe, expect, it } from 'vitest';
import { readmeCommands } from './readmeCommands.js';

const README = `# Title

Run \`npx avatar-server doctor\` first; \`npm test\` is not a command here.

\`\`\`bash
npm ci && npm run build
# a comment alone is not a command
curl http://localhost:8765/health | jq     # a trailing comment stays
curl http://localhost:8765/avatars | jq    # each avatar's state: a quote in a comment
curl -X POST http://localhost:8765/streams -H "Content-Type: application/json" \\
  -d '{"gesture_video": "a.mp4",
       "idle_video": "b.mp4"}'
\`\`\`

\`\`\`js
const notACommand = 1;
\`\`\`

\`\`\`
packages/server   not a command either
\`\`\`
`;

describe('readmeCommands', () => {
  it('takes bash lines and inline npx avatar-server spans, joining continued lines', () => {
    expect(readmeCommands(README)).toEqual([
      { text: 'npx avatar-server doctor', line: 3 },
      { text: 'npm ci && npm run build', line: 6 },
      { text: 'curl http://localhost:8765/health | jq     # a trailing comment stays', line: 8 },
      {
        text: "curl http://localhost:8765/avatars | jq    # each avatar's state: a quote in a comment",
        line: 9,
      },
      {
        text: `curl -X POST http://localhost:8765/streams -H "Content-Type: application/json" \\
  -d '{"gesture_video": "a.mp4",
       "idle_video": "b.mp4"}'`,
        line: 10,
      },
    ]);
  });

  it('refuses a block that ends inside a command', () => {
    expect(() => readmeCommands("```bash\ncurl -d '{\n```\n")).toThrow(
      /README.md:2: command not finished/,
    );
  });
});
