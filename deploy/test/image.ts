import { readFileSync } from 'node:fs';

/** The repository's root folder (the Docker build context). */
export const repoRoot = new URL('../../', import.meta.url);

const { version } = JSON.parse(readFileSync(new URL('package.json', repoRoot), 'utf8')) as {
  version: string;
};

/**
 * The image the Docker test builds and the Kubernetes manifests run: `avatar-server`, tagged with
 * the release's version (kustomize's `images:` renames it for a registry).
 */
export const IMAGE_NAME = 'avatar-server';
export const IMAGE = `${IMAGE_NAME}:${version}`;
