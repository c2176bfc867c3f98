import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';
import { repoRoot } from './image.js';

/** deploy/kubernetes, where `kubectl apply -k` starts. */
export const kubernetesDir = fileURLToPath(new URL('deploy/kubernetes/', repoRoot));

// biome-ignore lint/suspicious/noExplicitAny: manifests are arbitrary YAML, checked field by field
export type Manifest = Record<string, any>;

export type Loaded = {
  /** Path relative to deploy/kubernetes. */
  file: string;
  manifest: Manifest;
};

/** A kustomization (or component) file: its resources and generated secrets. */
export type Kustomization = {
  file: string;
  resources: string[];
  components: string[];
  secretGenerator: Array<{ name: string; files: string[]; options?: Manifest }>;
  images: Array<{ name: string; newName?: string; newTag?: string }>;
  commentedComponents: string[];
};

/** Every document of a YAML file; a syntax error names the file. */
export function readYaml(path: string): Manifest[] {
  const docs = parseAllDocuments(readFileSync(path, 'utf8'));
  return docs.map((doc) => {
    if (doc.errors.length > 0) throw new Error(`${path}: ${doc.errors[0]!.message}`);
    return doc.toJS() as Manifest;
  });
}

export function readKustomization(dir: string): Kustomization {
  const file = join(dir, 'kustomization.yaml');
  const [k] = readYaml(file);
  if (!k) throw new Error(`${file} is empty`);
  const text = readFileSync(file, 'utf8');
  // `# components:\n#   - prometheus`: an optional component the file offers, commented out.
  const commented = [...text.matchAll(/^#\s+-\s+(\S+)\s*$/gm)].map((m) => m[1]!);
  return {
    file: relative(kubernetesDir, file),
    resources: k.resources ?? [],
    components: k.components ?? [],
    secretGenerator: k.secretGenerator ?? [],
    images: k.images ?? [],
    commentedComponents: commented,
  };
}

/** The resources of a kustomization, each document with the file it came from. */
export function loadResources(dir: string, k: Kustomization): Loaded[] {
  return k.resources.flatMap((resource) => {
    const path = join(dir, resource);
    if (!existsSync(path)) throw new Error(`${k.file} lists ${resource}, which does not exist`);
    return readYaml(path).map((manifest) => ({
      file: relative(kubernetesDir, path),
      manifest,
    }));
  });
}

export const componentDir = (component: string) => join(kubernetesDir, component);
export const dirOf = (file: string) => dirname(join(kubernetesDir, file));
