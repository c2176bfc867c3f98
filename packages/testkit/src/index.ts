/**
 * What the server's tests, the browser end-to-end tests and the benchmarks share: clips whose
 * every frame says which loop and frame it is (and the decoder that reads that back), real
 * WebRTC receivers (werift) for WHEP and for the original `/streams` API, and `waitFor`.
 */

export { depacketize } from './clients/depacketize.js';
export { connectedIcePair } from './clients/icePair.js';
export {
  FrameAssembler,
  hasIdr,
  type ReceivedFrame,
  receiverH264,
  receiverVideoExtensions,
} from './clients/receivedFrames.js';
export { type StreamCreated, StreamsTestClient } from './clients/streamsTestClient.js';
export { WhepTestClient } from './clients/whepTestClient.js';
export {
  decodeMarkers,
  type MarkerClipOptions,
  makeMarkerClip,
  renderFrame,
} from './clips/makeMarkerClip.js';
export { makePendulumClip, type PendulumOptions, pendulumX } from './clips/makePendulumClip.js';
export { type MarkerAvatarDir, makeMarkerVideos } from './clips/markerAvatar.js';
export { BLACK, drawMarker, LOOP, type Marker, readMarker, WHITE } from './clips/markerCode.js';
export { type WaitOptions, waitFor } from './waitFor.js';

/**
 * The marker reader's source file, for a page that reads markers itself: the browser tests
 * transpile it into the page (it has no imports).
 */
export const markerCodeFile = new URL('./clips/markerCode.ts', import.meta.url);
