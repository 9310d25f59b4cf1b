/* SiFive test finisher ("sifive,test0"): one register at offset 0 through
 * which firmware and Linux (syscon-poweroff, syscon-reboot) end the machine.
 * Writes of 0x5555 power off, 0x7777 reboot, (code << 16) | 0x3333 fail with
 * code. Anything else is ignored, as on QEMU's virt board. */
#include <libfdt.h>
#include <stdlib.h>

#include "../stats.h"
#include "../vm.h"
#include "../vmstate.h"
#include "device.h"
#include "sifive_test.h"

struct sifive_test {
	struct vm *vm;
	_Atomic uint64_t commands;   /* poweroff/reboot/fail requests seen */
};

static uint64_t sifive_test_read(void *opaque, uint64_t offset, unsigned size)
{
	(void)opaque;
	(void)offset;
	(void)size;
	return 0;
}

static void sifive_test_write(void *opaque, uint64_t offset, uint64_t value, unsigned size)
{
	struct sifive_test *t = opaque;

	/* The command is the low halfword: a 16-bit store of it counts too. */
	if (offset != 0 || size < 2)
		return;
	switch (value & 0xffff) {
	case SIFIVE_TEST_POWEROFF:
	case SIFIVE_TEST_REBOOT:
	case SIFIVE_TEST_FAIL:
		t->commands++;
		break;
	}
	switch (value & 0xffff) {
	case SIFIVE_TEST_POWEROFF:
		vm_request_exit(t->vm, VM_POWEROFF, 0);
		break;
	case SIFIVE_TEST_REBOOT:
		vm_request_exit(t->vm, VM_REBOOT, 0);
		break;
	case SIFIVE_TEST_FAIL:
		vm_request_exit(t->vm, VM_FAIL, (int)((value >> 16) & 0xffff));
		break;
	default:
		break;
	}
}

static const struct mmio_ops sifive_test_ops = {
	.read = sifive_test_read,
	.write = sifive_test_write,
};

static const char sifive_test_compatible[] = "sifive,test1\0sifive,test0\0syscon";

static int sifive_test_create(struct vm *vm, const struct dev_params *p, void **state)
{
	struct sifive_test *t;
	struct dev_desc d = {
		.node_name = "test",
		.compatible = sifive_test_compatible,
		.compatible_len = sizeof(sifive_test_compatible),
		.base = p->base,
		.size = SIFIVE_TEST_SIZE,
		.irq = -1,
	};
	int err;

	if (!p->base) {
		warn("sifive-test: needs an MMIO base");
		return -EINVAL;
	}
	t = calloc(1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	*state = t;
	t->vm = vm;
	d.opaque = t;
	err = vm_add_mmio(vm, p->base, SIFIVE_TEST_SIZE, &sifive_test_ops, t, "sifive-test");
	if (err) {
		free(t);
		return err;
	}
	return vm_describe(vm, &d);
}

/* The device holds no guest-visible state: a write takes effect at once
 * (the VM ends or resets), and a read is always 0. Reset, pause and resume
 * have nothing to do; the state is only its version, so that a snapshot
 * still names every device. */
static void sifive_test_nothing(void *opaque)
{
	(void)opaque;
}

static int sifive_test_state(void *opaque, struct vmstate *s)
{
	(void)opaque;
	vms_version(s, 1);
	return vms_error(s);
}

static void sifive_test_stats(void *opaque, const struct stats_sink *s)
{
	struct sifive_test *t = opaque;

	stats_put(s, "commands", t->commands);
}

static const struct device_ops sifive_test_model = {
	.name = "sifive-test",
	.create = sifive_test_create,
	.reset = sifive_test_nothing,
	.pause = sifive_test_nothing,
	.resume = sifive_test_nothing,
	.state = sifive_test_state,
	.stats = sifive_test_stats,
	.destroy = free,
};
DEVICE_MODEL(sifive_test_model)
