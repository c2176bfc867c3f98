/** @avatar-server/react: a live avatar in a React app, created and closed with the component. */
export { AvatarVideo, type AvatarVideoProps } from './AvatarVideo.js';
export { type UseAvatarOptions, type UseAvatarResult, useAvatar } from './useAvatar.js';
