/* pvpanic-mmio: the guest kernel writes PANICKED here from its panic
 * notifier, so a guest panic ends trevo with a failure status instead of a
 * silent hang (Linux drivers/misc/pvpanic, compatible "qemu,pvpanic-mmio"). */
#include <stdlib.h>

#include "../stats.h"
#include "../vm.h"
#include "../vmstate.h"
#include "device.h"

#define PVPANIC_PANICKED      (1 << 0)
#define PVPANIC_CRASH_LOADED  (1 << 1)
#define PVPANIC_SIZE          0x1000
/* trevo's exit status when the guest kernel panicked */
#define PVPANIC_EXIT_STATUS   1

struct pvpanic {
	struct vm *vm;
	_Atomic uint64_t panics;
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
		p->panics++;
		warn("pvpanic: the guest kernel panicked");
		vm_request_exit(p->vm, VM_FAIL, PVPANIC_EXIT_STATUS);
	}
	/* CRASH_LOADED: a kdump kernel takes over; nothing to do */
}

static const struct mmio_ops pvpanic_ops = {
	.read = pvpanic_read,
	.write = pvpanic_write,
};

static int pvpanic_create(struct vm *vm, const struct dev_params *params, void **state)
{
	struct pvpanic *dev = calloc(1, sizeof(*dev));
	struct dev_desc d = {
		.node_name = "pvpanic",
		.compatible = "qemu,pvpanic-mmio",
		.base = params->base,
		.size = PVPANIC_SIZE,
		.irq = -1,
	};
	int err;

	if (!dev)
		return -ENOMEM;
	dev->vm = vm;
	err = vm_add_mmio(vm, params->base, PVPANIC_SIZE, &pvpanic_ops, dev, "pvpanic");
	if (err) {
		free(dev);
		return err;
	}
	*state = dev;
	return vm_describe(vm, &d);
}

/* Nothing guest-visible to keep: the events register is constant and a
 * write acts at once. Reset, pause and resume have nothing to do; the
 * state is its version alone. */
static void pvpanic_nothing(void *opaque)
{
	(void)opaque;
}

static int pvpanic_state(void *opaque, struct vmstate *s)
{
	(void)opaque;
	vms_version(s, 1);
	return vms_error(s);
}

static void pvpanic_stats(void *opaque, const struct stats_sink *s)
{
	struct pvpanic *p = opaque;

	stats_put(s, "panics", p->panics);
}

static const struct device_ops pvpanic_model = {
	.name = "pvpanic-mmio",
	.create = pvpanic_create,
	.reset = pvpanic_nothing,
	.pause = pvpanic_nothing,
	.resume = pvpanic_nothing,
	.state = pvpanic_state,
	.stats = pvpanic_stats,
	.destroy = free,
};
DEVICE_MODEL(pvpanic_model)
