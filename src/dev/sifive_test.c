/* SiFive test finisher ("sifive,test0"): one register at offset 0 through
 * which firmware and Linux (syscon-poweroff, syscon-reboot) end the machine.
 * Writes of 0x5555 power off, 0x7777 reboot, (code << 16) | 0x3333 fail with
 * code. Anything else is ignored, as on QEMU's virt board. */
#include <libfdt.h>
#include <stdlib.h>

#include "../vm.h"
#include "device.h"
#include "sifive_test.h"

struct sifive_test {
	struct vm *vm;
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

static const struct device_ops sifive_test_model = {
	.name = "sifive-test",
	.create = sifive_test_create,
};
DEVICE_MODEL(sifive_test_model)
