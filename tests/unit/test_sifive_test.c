/* SiFive test finisher: each command ends the VM the right way. */
#include <libfdt.h>
#include <stdio.h>
#include <string.h>

#include "dev/sifive_test.h"
#include "unit_vm.h"
#include "vm.h"

static int failures;

#define CHECK(name, cond)                                                        \
	do {                                                                     \
		if (cond)                                                        \
			printf("PASS sifive-test-%s\n", name);                   \
		else {                                                           \
			printf("FAIL sifive-test-%s: %s (line %d)\n", name, #cond, \
			       __LINE__);                                        \
			failures++;                                              \
		}                                                                \
	} while (0)

static int kicks;

static void fake_kick(struct vm *vm)
{
	(void)vm;
	kicks++;
}

int main(void)
{
	struct vm_config cfg = { 0 };
	struct vm vm = { .cfg = &cfg, .kick = fake_kick };
	struct dev_params p = { .base = 0x100000, .irq = -1 };
	const struct mmio_region *r;
	static const char compat[] = "sifive,test1\0sifive,test0\0syscon";

	CHECK("create", vm_create_device(&vm, "sifive-test", &p) == 0);
	r = bus_find(&vm.mmio, 0x100000, 4);
	CHECK("window", r && r->size == SIFIVE_TEST_SIZE);
	CHECK("describe", vm.nr_desc == 1 && !strcmp(vm.desc[0].node_name, "test") &&
				  vm.desc[0].compatible_len == sizeof(compat) &&
				  !memcmp(vm.desc[0].compatible, compat, sizeof(compat)) &&
				  vm.desc[0].irq == -1);
	CHECK("no-base", vm_create_device(&vm, "sifive-test", &(struct dev_params){ .irq = -1 }) ==
				 -EINVAL);
	if (!r)
		return 1;

	/* The board hands out phandles (dev_desc.phandle) and writes them
	 * itself; the device leaves its node to the board. */
	CHECK("fdt-no-own-phandle", vm.desc[0].fdt_extra == NULL && vm.desc[0].phandle == 0);

	CHECK("read-zero", r->ops->read(r->opaque, 0, 4) == 0);
	r->ops->write(r->opaque, 0, 0x1234, 4);
	r->ops->write(r->opaque, 4, 0x5555, 4);
	CHECK("ignored", vm.exit_reason == VM_RUNNING && kicks == 0);

	r->ops->write(r->opaque, 0, 0x5555, 4);
	CHECK("poweroff", vm.exit_reason == VM_POWEROFF && vm.exit_code == 0 && kicks == 1);

	vm.exit_reason = VM_RUNNING;
	r->ops->write(r->opaque, 0, (42 << 16) | 0x3333, 4);
	CHECK("fail-code", vm.exit_reason == VM_FAIL && vm.exit_code == 42);

	vm.exit_reason = VM_RUNNING;
	r->ops->write(r->opaque, 0, 0x7777, 4);
	CHECK("reboot", vm.exit_reason == VM_REBOOT);

	vm.exit_reason = VM_RUNNING;
	r->ops->write(r->opaque, 0, 0x5555, 2);
	CHECK("poweroff-16bit", vm.exit_reason == VM_POWEROFF);
	unit_vm_free(&vm);
	return failures ? 1 : 0;
}
