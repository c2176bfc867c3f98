import type { Avatar } from '@avatar-server/client-sdk';
import { type ComponentPropsWithoutRef, useEffect, useRef } from 'react';
import { type UseAvatarOptions, type UseAvatarResult, useAvatar } from './useAvatar.js';

/** Props of {@link AvatarVideo}: the avatar's, then any `<video>` attribute (style, className…). */
export type AvatarVideoProps = Omit<UseAvatarOptions, 'video'> &
  ComponentPropsWithoutRef<'video'> & {
    /** The avatar's WHEP endpoint. */
    url: string | undefined;
    /** Called with the avatar once connected, and with undefined when it goes. */
    onAvatar?: ((avatar: Avatar | undefined) => void) | undefined;
    /** Called on every change of state, speaking or error. */
    onAvatarChange?: ((result: UseAvatarResult) => void) | undefined;
  };

/**
 * A `<video>` playing an avatar for as long as it is mounted: the session is created when it
 * mounts (or `url` changes) and deleted when it unmounts.
 */
export function AvatarVideo(props: AvatarVideoProps) {
  const { url, token, iceServers, maxReconnectMs, on, onAvatar, onAvatarChange, ...videoProps } =
    props;
  const ref = useRef<HTMLVideoElement>(null);
  const result = useAvatar(url, { video: ref, token, iceServers, maxReconnectMs, on });
  const callbacks = useRef({ onAvatar, onAvatarChange });
  callbacks.current = { onAvatar, onAvatarChange };
  useEffect(() => callbacks.current.onAvatar?.(result.avatar), [result.avatar]);
  useEffect(() => callbacks.current.onAvatarChange?.(result), [result]);
  return <video ref={ref} muted playsInline autoPlay {...videoProps} />;
}
