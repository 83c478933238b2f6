// An instruction the hypervisor emulated for the guest retires, as it would have natively:
// the guest's instret and time then match a native run instruction for instruction.

import { Counter } from '../counter-ids';
import { count, hart } from '../state';

export function retireEmulated(): void {
  hart.instret += 1;
  hart.now += 1;
  count(Counter.INSTRET_U + <i32>hart.priv);
}
