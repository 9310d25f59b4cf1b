/* What a unit test's struct vm holds when it is done with it: the devices
 * it created (each through its own destroy, as vm_run's teardown does),
 * the loader's blobs and guest RAM. So the leak checker sees a clean exit. */
#ifndef TREVO_TESTS_UNIT_VM_H
#define TREVO_TESTS_UNIT_VM_H

#include <stdlib.h>

#include "vm.h"

static inline void unit_vm_free(struct vm *vm)
{
	while (vm->devices) {
		struct device *d = vm->devices;
		vm->devices = d->next;
		if (d->ops->destroy)
			d->ops->destroy(d->state);
		free(d);
	}
	vm->devices_tail = &vm->devices;
	while (vm->blobs) {
		struct vm_blob *b = vm->blobs;
		vm->blobs = b->next;
		free(b->data);
		free(b);
	}
	gmem_free(&vm->mem);
}

#endif
