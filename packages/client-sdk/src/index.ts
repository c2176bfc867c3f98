/** @avatar-server/client-sdk: a live video avatar in a `<video>`, switched with one call. */
export { createAvatar } from './createAvatar.js';
export { AvatarError, type AvatarErrorReason, type Problem } from './errors.js';
export type {
  AttachAudioOptions,
  Avatar,
  AvatarEvents,
  AvatarOptions,
  AvatarState,
  AvatarStats,
  AvatarWait,
  LatencyStats,
  ReconnectAttempt,
  SpeakingResult,
  SpeakOptions,
  SpeechResult,
  SpeechSource,
} from './types.js';
