/** Every fuzz target by name (docs/reliability.md). */
import type { Target } from '../campaign.js';
import { insnTarget } from './insn.js';
import { mmioTarget } from './mmio.js';
import { sbiTarget } from './sbi.js';
import { pagetableTarget } from './pagetable.js';
import { virtioTarget } from './virtio.js';
import { loadersTarget } from './loaders.js';
import { xvmTarget } from './xvm.js';

export const TARGETS: Target[] = [insnTarget, pagetableTarget, mmioTarget, virtioTarget, sbiTarget, loadersTarget, xvmTarget];
export const targetByName = (name: string) => TARGETS.find((t) => t.name === name);
