/**
 * The Sampler options of the commands that read descriptors and run beside each other (`top`, `record`, `serve`):
 * descriptors on, and the registry of running bubbles, so none of them reads another's /proc reads as its open files.
 */
import type { SamplerOptions } from '../collectors/sampler.js';
import { defaultInstancesDir } from '../store/paths.js';

export function descriptorSampler(env: NodeJS.ProcessEnv = process.env): SamplerOptions {
  const instancesDir = defaultInstancesDir(env);
  return { descriptors: true, ...(instancesDir !== undefined && { instancesDir }) };
}
