// A Node backend that serves the whole avatar API under /api/avatar of its own express app, as
// the original backend mounted routes/avatar.js. From the repository root, after `npm run build`:
//   node examples/backend/backend.mjs
// Paths are relative to the working folder; PORT chooses another port than 3100.

import { createAvatarRouter } from '@avatar-server/server';
import express from 'express';

const app = express();
const avatar = await createAvatarRouter({ videosDir: 'videos', cacheDir: '.cache/avatars' });
app.use('/api/avatar', avatar);
const server = app.listen(Number(process.env.PORT ?? 3100), () => {
  console.log(`http://localhost:${server.address().port}/api/avatar/status`);
});
process.on('SIGTERM', () => {
  avatar.close();
  server.close(() => process.exit(0));
});
