/* A trap vector that itself faults (mtvec = 0: no memory there) loops on
 * fetch access faults forever, as on hardware. Trevo must still end its time
 * slices, so the instruction limit stops the run (status 3) instead of the
 * harness's 30-second timeout. trevo-only (QEMU has no instruction limit).
 * expect-status: 3
 * trevo-args: --max-insns 2000000
 */
#include "isa.h"

	.text
	.globl test_main
test_main:
	csrw mtvec, zero
	jr zero
