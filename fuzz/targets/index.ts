/** Every fuzz target by name (docs/reliability.md). */
import type { Target } from '../campaign.js';
import { insnTarget } from './insn.js';

export const TARGETS: Target[] = [insnTarget];
export const targetByName = (name: string) => TARGETS.find((t) => t.name === name);
