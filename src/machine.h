/* The KVM machine's own run function, until it moves behind the engine seam
 * (src/engine.h) as the RISC-V machine did. */
#ifndef TREVO_MACHINE_H
#define TREVO_MACHINE_H

#include "vm.h"

int x86_machine_run(struct vm *vm);

#endif
