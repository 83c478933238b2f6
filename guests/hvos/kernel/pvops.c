// The pv table the whole kernel calls through (see pvops.h).
#include "pvops.h"

extern const struct pv_ops pv_native_ops;

struct pv_ops pv;

// Called first thing at boot. Every platform hvos knows today runs the
// native operations: bare metal, trap-and-emulate and the hardware-assisted
// modes all execute (or trap on) the real instructions. The hvlab `pv` mode
// will install its own table here after platform_detect() finds it.
void pvops_init(void)
{
    pv = pv_native_ops;
}
