/* hspec: hext with the checks where QEMU 7.2 departs from the H-extension spec
 * (docs/h-extension.md lists them). hvlab follows the spec, so this guest runs on
 * hvlab only; its golden output is every check passing. */
#define HSPEC 1
#include "hext.c"
