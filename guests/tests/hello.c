/* hello: the smallest guest. Prints a banner and the boot registers; a1 (the
 * device-tree address) is printed only as zero/nonzero since it differs
 * between machines. */
#include "rt.h"

int main(void)
{
    println("hello from hvlab guest");
    print_kv("a0 hartid", boot_hartid);
    print("a1 dtb ");
    println(boot_dtb ? "nonzero" : "zero");
    check("hartid-is-zero", boot_hartid, 0);
    check_true("dtb-nonzero", boot_dtb != 0);
    return summary();
}
