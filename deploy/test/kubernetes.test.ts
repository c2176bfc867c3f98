/**
 * deploy/kubernetes, checked without a cluster: every manifest against the Kubernetes API schemas
 * (the kubernetes-models packages: the API's OpenAPI schemas compiled to validators, offline; the
 * ServiceMonitor against the Prometheus Operator's CRD schema), then what a schema cannot see:
 * selectors that find the pods, names that point at real objects, probe paths the server serves,
 * settings the server knows, a grace period longer than the drain, and the image the Docker test
 * builds.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { ServiceMonitor } from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1';
import { Deployment } from 'kubernetes-models/apps/v1';
import { HorizontalPodAutoscaler } from 'kubernetes-models/autoscaling/v2';
import { Ingress } from 'kubernetes-models/networking.k8s.io/v1';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1';
import { ConfigMap, PersistentVolumeClaim, Secret, Service } from 'kubernetes-models/v1';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { settingKeys } from '../../packages/server/src/config/keys.js';
import { configFromEnv } from '../../packages/server/src/config/load.js';
import { ConfigSchema } from '../../packages/server/src/config/schema.js';
import { openApiDocument } from '../../packages/server/src/http/openapi.js';
import { IMAGE, IMAGE_NAME, repoRoot } from './image.js';
import {
  componentDir,
  kubernetesDir,
  type Loaded,
  loadResources,
  type Manifest,
  readKustomization,
} from './manifests.js';

/** The API's validators by apiVersion and kind: a kind not listed here fails the test. */
const MODELS: Record<string, new (data: never) => { validate(): void }> = {
  'v1/ConfigMap': ConfigMap,
  'v1/PersistentVolumeClaim': PersistentVolumeClaim,
  'v1/Secret': Secret,
  'v1/Service': Service,
  'apps/v1/Deployment': Deployment,
  'networking.k8s.io/v1/Ingress': Ingress,
  'policy/v1/PodDisruptionBudget': PodDisruptionBudget,
  'autoscaling/v2/HorizontalPodAutoscaler': HorizontalPodAutoscaler,
  'monitoring.coreos.com/v1/ServiceMonitor': ServiceMonitor,
};

const main = readKustomization(kubernetesDir);
const components = main.commentedComponents.concat(main.components);
const componentKs = components.map((c) => readKustomization(componentDir(c)));
const resources: Loaded[] = [
  ...loadResources(kubernetesDir, main),
  ...components.flatMap((c, i) => loadResources(componentDir(c), componentKs[i]!)),
];

const all = (kind: string) => resources.filter((r) => r.manifest.kind === kind);
function one(kind: string, name?: string): Manifest {
  const found = all(kind).filter((r) => name === undefined || r.manifest.metadata?.name === name);
  if (found.length !== 1)
    throw new Error(`expected one ${kind} ${name ?? ''}, found ${found.length}`);
  return found[0]!.manifest;
}

const deployment = one('Deployment');
const pod = deployment.spec.template.spec as Manifest;
const container = pod.containers[0] as Manifest;
const podLabels = deployment.spec.template.metadata.labels as Record<string, string>;
const env = new Map<string, Manifest>(container.env.map((e: Manifest) => [e.name, e]));

/** True when every label of `selector` is on the pods. */
const selects = (selector: Record<string, string>) =>
  Object.entries(selector).every(([k, v]) => podLabels[k] === v);

describe('deploy/kubernetes', () => {
  it('lists every manifest file in a kustomization, and nothing that is missing', () => {
    const listed = new Set(resources.map((r) => r.file));
    const onDisk = (dir: string): string[] =>
      readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
        e.isDirectory()
          ? onDisk(join(dir, e.name))
          : e.name.endsWith('.yaml') && e.name !== 'kustomization.yaml'
            ? [relative(kubernetesDir, join(dir, e.name))]
            : [],
      );
    expect(onDisk(kubernetesDir).sort()).toEqual([...listed].sort());
    expect(resources.length).toBeGreaterThanOrEqual(9);
  });

  it('validates every manifest against its API schema', () => {
    for (const { file, manifest } of resources) {
      const key = `${manifest.apiVersion}/${manifest.kind}`;
      const Model = MODELS[key];
      expect(Model, `${file}: no schema for ${key}`).toBeDefined();
      expect(() => new Model!(manifest as never).validate(), `${file}: ${key}`).not.toThrow();
      expect(manifest.metadata?.name, `${file}: metadata.name`).toMatch(/^[a-z0-9-]+$/);
    }
  });

  it('the schemas catch a broken manifest (so the validation above means something)', () => {
    const broken = structuredClone(deployment);
    broken.spec.template.spec.containers[0].resources.requests.cpu = { cores: 2 };
    expect(() => new Deployment(broken).validate()).toThrow(/cpu/);
    const noPorts = structuredClone(one('Service', 'avatar-server'));
    noPorts.spec.ports[0].port = 'eighty';
    expect(() => new Service(noPorts).validate()).toThrow(/port/);
  });

  it('validates the Secrets the secretGenerators make', () => {
    for (const k of [main, ...componentKs]) {
      for (const gen of k.secretGenerator) {
        const data = Object.fromEntries(
          gen.files.map((f) => [f.split('=')[0]!, Buffer.from('x').toString('base64')]),
        );
        const secret = { apiVersion: 'v1', kind: 'Secret', metadata: { name: gen.name }, data };
        expect(() => new Secret(secret).validate(), `${k.file}: ${gen.name}`).not.toThrow();
      }
    }
  });

  it('validates the manifests docs/deploy.md shows', () => {
    const doc = readFileSync(new URL('docs/deploy.md', repoRoot), 'utf8');
    const blocks = [...doc.matchAll(/```yaml\n([\s\S]*?)```/g)]
      .map((m) => parseYaml(m[1]!) as Manifest)
      .filter((m) => m?.apiVersion && m.kind);
    expect(blocks.length).toBeGreaterThan(0);
    for (const manifest of blocks) {
      const key = `${manifest.apiVersion}/${manifest.kind}`;
      expect(MODELS[key], `docs/deploy.md: no schema for ${key}`).toBeDefined();
      expect(() => new MODELS[key]!(manifest as never).validate(), key).not.toThrow();
      if (manifest.kind === 'HorizontalPodAutoscaler') {
        expect(manifest.spec.scaleTargetRef.name).toBe(deployment.metadata.name);
      }
    }
  });

  it('selects the server pods from every Service, the PDB and the anti-affinity', () => {
    expect(selects(deployment.spec.selector.matchLabels)).toBe(true);
    for (const { file, manifest } of all('Service')) {
      expect(selects(manifest.spec.selector), `${file}: selector`).toBe(true);
      for (const port of manifest.spec.ports) {
        const target = port.targetPort;
        const ok = container.ports.some(
          (p: Manifest) => p.name === target || p.containerPort === target,
        );
        expect(ok, `${file}: targetPort ${target} is a container port`).toBe(true);
      }
    }
    expect(selects(one('PodDisruptionBudget').spec.selector.matchLabels)).toBe(true);
    const anti = pod.affinity.podAntiAffinity.requiredDuringSchedulingIgnoredDuringExecution[0];
    expect(selects(anti.labelSelector.matchLabels)).toBe(true);
    expect(anti.topologyKey).toBe('kubernetes.io/hostname');
  });

  it('names objects that exist: Ingress → Service, HPA → Deployment, volumes, ServiceMonitor', () => {
    const backend = one('Ingress').spec.rules[0].http.paths[0].backend.service;
    const service = one('Service', backend.name);
    expect(service.spec.ports.map((p: Manifest) => p.name)).toContain(backend.port.name);
    expect(service.spec.clusterIP).not.toBe('None');

    const target = one('HorizontalPodAutoscaler').spec.scaleTargetRef;
    expect([target.kind, target.name]).toEqual(['Deployment', deployment.metadata.name]);
    expect(deployment.spec.replicas, 'the HPA owns the replica count').toBeUndefined();

    const volumes = new Map<string, Manifest>(pod.volumes.map((v: Manifest) => [v.name, v]));
    for (const mount of container.volumeMounts) {
      expect(volumes.has(mount.name), `volumeMount ${mount.name}`).toBe(true);
    }
    const generated = main.secretGenerator.map((g) => g.name);
    for (const v of volumes.values()) {
      if (v.configMap) one('ConfigMap', v.configMap.name);
      if (v.persistentVolumeClaim) {
        const claim = one('PersistentVolumeClaim', v.persistentVolumeClaim.claimName);
        expect(claim.spec.accessModes, 'shared by every pod').toContain('ReadWriteMany');
      }
      if (v.secret) expect(generated).toContain(v.secret.secretName);
    }

    const monitor = one('ServiceMonitor');
    const metrics = all('Service').find((s) =>
      Object.entries(monitor.spec.selector.matchLabels).every(
        ([k, v]) => s.manifest.metadata.labels?.[k] === v,
      ),
    );
    expect(metrics, 'a Service the ServiceMonitor selects').toBeDefined();
    const endpoint = monitor.spec.endpoints[0];
    expect(metrics!.manifest.spec.ports.map((p: Manifest) => p.name)).toContain(endpoint.port);
    const credentials = endpoint.authorization.credentials;
    const gen = componentKs
      .flatMap((k) => k.secretGenerator)
      .find((g) => g.name === credentials.name);
    expect(
      gen,
      'the token secret is generated under the name the ServiceMonitor uses',
    ).toBeDefined();
    expect(gen!.options?.disableNameSuffixHash).toBe(true);
    expect(gen!.files.map((f) => f.split('=')[0])).toContain(credentials.key);
  });

  it('probes and scrapes paths the server serves', () => {
    const paths = Object.keys(openApiDocument('test').paths);
    expect(container.livenessProbe.httpGet.path).toBe('/health');
    expect(container.readinessProbe.httpGet.path).toBe('/ready');
    expect(paths).toContain(container.livenessProbe.httpGet.path);
    expect(paths).toContain(container.readinessProbe.httpGet.path);
    expect(paths).toContain(one('ServiceMonitor').spec.endpoints[0].path);
    const portNames = container.ports.map((p: Manifest) => p.name);
    expect(portNames).toContain(container.livenessProbe.httpGet.port);
    expect(portNames).toContain(container.readinessProbe.httpGet.port);
  });

  it('sets only settings the server knows, to values its schema accepts', () => {
    const known = new Set(settingKeys().map((k) => k.env));
    for (const name of env.keys()) {
      expect(known.has(name), `${name} is a setting`).toBe(true);
    }
    const configMap = one(
      'ConfigMap',
      pod.volumes.find((v: Manifest) => v.configMap).configMap.name,
    );
    const file = parseYaml(configMap.data['config.yaml']) as Manifest;
    // The downward API's values, as a pod would see them.
    const sample: Record<string, string> = {
      'status.hostIP': '10.0.0.7',
      'status.podIP': '10.1.2.3',
      'metadata.name': 'avatar-server-5d8c7f9b6-x2k4q',
    };
    const values: Record<string, string> = {};
    for (const [name, e] of env) {
      if (!known.has(name)) continue;
      values[name] = e.value ?? sample[e.valueFrom?.fieldRef?.fieldPath];
      expect(values[name], `${name} has a value`).toBeDefined();
    }
    const fromEnv = configFromEnv(values);
    const merged = { ...file, ...fromEnv, ice: { ...file.ice, ...(fromEnv.ice as object) } };
    const parsed = ConfigSchema.safeParse(merged);
    expect(parsed.error?.issues ?? []).toEqual([]);
    const config = parsed.data!;

    // The pod's side of those settings.
    expect(container.args).toEqual(['serve', '--config', '/etc/avatar-server/config.yaml']);
    const mountAt = (path: string) =>
      container.volumeMounts.find((m: Manifest) => m.mountPath === path);
    expect(mountAt('/etc/avatar-server/config.yaml')?.subPath).toBe('config.yaml');
    expect(mountAt(config.videosDir)?.readOnly).toBe(true);
    expect(mountAt(config.cacheDir)).toBeDefined();
    expect(container.ports.find((p: Manifest) => p.name === 'http').containerPort).toBe(
      config.port,
    );
    const nodes = one('Service', env.get('AVATAR_CLUSTER_DNS')?.value);
    expect(nodes.spec.clusterIP).toBe('None');
    expect(nodes.spec.publishNotReadyAddresses, 'draining nodes stay reachable').toBe(true);

    // Secret files: in the secret volume, under a key the secretGenerator writes.
    const secretMount = container.volumeMounts.find(
      (m: Manifest) => pod.volumes.find((v: Manifest) => v.name === m.name)?.secret,
    );
    const keys = main.secretGenerator.flatMap((g) => g.files.map((f) => f.split('=')[0]));
    for (const [name, e] of env) {
      if (!name.endsWith('_FILE')) continue;
      expect(e.value, name).toMatch(new RegExp(`^${secretMount.mountPath}/`));
      expect(keys, name).toContain(e.value.slice(secretMount.mountPath.length + 1));
    }
  });

  it('sizes workers to whole cores and announces the right address', () => {
    const { requests, limits } = container.resources;
    expect(requests.cpu, 'whole cores').toMatch(/^[1-9]\d*$/);
    expect(limits.cpu).toBe(requests.cpu);
    expect(limits.memory).toBe(requests.memory);
    const configMap = one('ConfigMap');
    const file = parseYaml(configMap.data['config.yaml']) as Manifest;
    expect(file.workers, 'one media worker per requested core').toBe(Number(requests.cpu));
    expect(file.ice.portRange).toHaveLength(2);

    // hostNetwork: the node's address; otherwise the pod's.
    const address = env.get('AVATAR_PUBLIC_IP')?.valueFrom?.fieldRef?.fieldPath;
    expect(address).toBe(pod.hostNetwork ? 'status.hostIP' : 'status.podIP');
    if (pod.hostNetwork) expect(pod.dnsPolicy).toBe('ClusterFirstWithHostNet');
    expect(env.get('AVATAR_CLUSTER_NODE_ID')?.valueFrom?.fieldRef?.fieldPath).toBe('metadata.name');
  });

  it('gives the drain its time: terminationGracePeriodSeconds > preStop + drainTimeoutS', () => {
    const [cmd, seconds] = container.lifecycle.preStop.exec.command as string[];
    expect(cmd).toBe('sleep');
    const drain = Number(env.get('AVATAR_DRAIN_TIMEOUT_S')?.value ?? 30);
    expect(pod.terminationGracePeriodSeconds).toBeGreaterThanOrEqual(Number(seconds) + drain + 5);
    expect(one('PodDisruptionBudget').spec.maxUnavailable).toBe(1);
  });

  it('runs the image the Docker test builds, as the user the Dockerfile creates', () => {
    expect(container.image).toBe(IMAGE);
    expect(main.images.map((i) => i.name)).toEqual([IMAGE_NAME]);
    expect(main.images[0]!.newTag).toBe(IMAGE.split(':')[1]);
    const dockerfile = readFileSync(new URL('deploy/Dockerfile', repoRoot), 'utf8');
    const uid = Number(dockerfile.match(/useradd [^\n]*--uid (\d+)/)?.[1]);
    expect(pod.securityContext.runAsUser).toBe(uid);
    expect(pod.securityContext.fsGroup).toBe(uid);
    expect(container.securityContext.readOnlyRootFilesystem).toBe(true);
    expect(container.volumeMounts.map((m: Manifest) => m.mountPath)).toContain('/tmp');
  });
});
