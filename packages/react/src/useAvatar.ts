import {
  type Avatar,
  type AvatarError,
  type AvatarOptions,
  type AvatarState,
  createAvatar,
} from '@avatar-server/client-sdk';
import { type RefObject, useEffect, useRef, useState } from 'react';

/** createAvatar's options, with the `<video>` as a ref (it is set once React has rendered it). */
export type UseAvatarOptions = Omit<AvatarOptions, 'url' | 'video' | 'signal'> & {
  video: RefObject<HTMLElement | null>;
};

/** What {@link useAvatar} gives a component; re-rendered on every change. */
export type UseAvatarResult = {
  /** The connected avatar (undefined while connecting and after it closed). */
  avatar: Avatar | undefined;
  /** `idle` without a url; then the SDK's states. */
  state: AvatarState | 'idle';
  /** The confirmed speaking state. */
  speaking: boolean;
  /** Why connecting failed, or why the avatar ended (`disconnected`); undefined otherwise. */
  error: AvatarError | undefined;
};

/**
 * An avatar that lives as long as the component (or until `url` changes): created in an effect,
 * closed in its cleanup, so React's strict-mode double mount deletes its first session instead of
 * leaking it. The other options are read when connecting; changing them does not reconnect
 * (a `token` function is still called for each new session).
 */
export function useAvatar(url: string | undefined, options: UseAvatarOptions): UseAvatarResult {
  const latest = useRef(options);
  latest.current = options;
  const [result, setResult] = useState<UseAvatarResult>(idle);

  useEffect(() => {
    const element = latest.current.video.current;
    if (!url || !element) {
      setResult(idle);
      return;
    }
    const controller = new AbortController();
    const { video: _ref, ...rest } = latest.current;
    const update = (avatar: Avatar | undefined, error?: AvatarError) =>
      setResult({
        avatar: avatar?.state === 'closed' ? undefined : avatar,
        state: avatar?.state ?? 'closed',
        speaking: avatar?.speaking === true && avatar.state === 'connected',
        error,
      });
    setResult({ ...idle, state: 'connecting' });
    createAvatar({ ...rest, url, video: element, signal: controller.signal }).then(
      (avatar) => {
        avatar.on('statechange', () => update(avatar));
        avatar.on('speakingchange', () => update(avatar));
        avatar.on('disconnected', (error) => {
          if (!controller.signal.aborted) update(avatar, error);
        });
        update(avatar);
      },
      (error: AvatarError) => {
        if (!controller.signal.aborted) update(undefined, error);
      },
    );
    // Aborting closes the avatar (or cancels connecting; a late session is deleted on arrival).
    return () => controller.abort();
  }, [url]);

  return result;
}

const idle: UseAvatarResult = {
  avatar: undefined,
  state: 'idle',
  speaking: false,
  error: undefined,
};
