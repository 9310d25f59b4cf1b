/* pvpanic-mmio: the guest kernel writes PANICKED here from its panic
 * notifier, so a guest panic ends trevo with a failure status instead of a
 * silent hang (Linux drivers/misc/pvpanic, compatible "qemu,pvpanic-mmio"). */
#include "../vm.h"
#include "device.h"

#define PVPANIC_PANICKED      (1 << 0)
#define PVPANIC_CRASH_LOADED  (1 << 1)
#define PVPANIC_SIZE          0x1000
/* trevo's exit status when the guest kernel panicked */
#define PVPANIC_EXIT_STATUS   1

struct pvpanic {
	struct vm *vm;
};

static uint64_t pvpanic_read(void *opaque, uint64_t off, unsigned size)
{
	(void)opaque;
	(void)size;
	/* offset 0: the events this device reports */
	return off == 0 ? (PVPANIC_PANICKED | PVPANIC_CRASH_LOADED) : 0;
}

static void pvpanic_write(void *opaque, uint64_t off, uint64_t val, unsigned size)
{
	struct pvpanic *p = opaque;

	(void)size;
	if (off != 0)
		return;
	if (val & PVPANIC_PANICKED) {
		warn("pvpanic: the guest kernel panicked");
		vm_request_exit(p->vm, VM_FAIL, PVPANIC_EXIT_STATUS);
	}
	/* CRASH_LOADED: a kdump kernel takes over; nothing to do */
}

static const struct mmio_ops pvpanic_ops = {
	.read = pvpanic_read,
	.write = pvpanic_write,
};

static int pvpanic_create(struct vm *vm, const struct dev_params *params)
{
	static struct pvpanic dev;
	struct dev_desc d = {
		.node_name = "pvpanic",
		.compatible = "qemu,pvpanic-mmio",
		.base = params->base,
		.size = PVPANIC_SIZE,
		.irq = -1,
	};
	int err;

	dev.vm = vm;
	err = vm_add_mmio(vm, params->base, PVPANIC_SIZE, &pvpanic_ops, &dev, "pvpanic");
	return err ? err : vm_describe(vm, &d);
}

static const struct device_model pvpanic_model = {
	.name = "pvpanic-mmio",
	.create = pvpanic_create,
};
DEVICE_MODEL(pvpanic_model)
