/* libFuzzer target for the small MMIO devices that end a run: the SiFive
 * test finisher (src/dev/sifive_test.c, -DSYSDEV_SIFIVE_TEST) and
 * pvpanic-mmio (src/dev/pvpanic.c), created through the model registry as
 * a board creates them and reached through vm_mmio_read/write, as a hart
 * reaches them. The input is a program of reads and writes at any offset
 * of the window (and around it) and any width. What the VM is asked to do
 * must follow the device's contract exactly: sifive-test powers off on
 * 0x5555, reboots on 0x7777, fails with code v >> 16 on 0x3333 (the low
 * halfword of a write of 2 bytes or more at offset 0), nothing else;
 * pvpanic fails with status 1 on a write with bit 0 at offset 0, nothing
 * else, and reads 3 (PANICKED | CRASH_LOADED) at offset 0 and 0 elsewhere.
 * The first request wins (vm_request_exit): the model is reset after it. */
#include <stdlib.h>
#include <string.h>

#include "dev/device.h"
#include "vm.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define BASE 0x100000ULL
#define SIZE 0x1000ULL

#ifdef SYSDEV_SIFIVE_TEST
#define MODEL "sifive-test"
#else
#define MODEL "pvpanic-mmio"
#endif

static struct vm_config cfg;
static struct vm vm;

/* The request a write should make: VM_RUNNING for none. */
static enum vm_exit expect(uint64_t off, uint64_t v, unsigned size, int *code)
{
	if (size < 8)
		v &= (1ULL << (8 * size)) - 1;
	*code = 0;
#ifdef SYSDEV_SIFIVE_TEST
	if (off != 0 || size < 2)
		return VM_RUNNING;
	switch (v & 0xffff) {
	case 0x5555: return VM_POWEROFF;
	case 0x7777: return VM_REBOOT;
	case 0x3333: *code = (int)(v >> 16 & 0xffff); return VM_FAIL;
	default: return VM_RUNNING;
	}
#else
	if (off != 0 || !(v & 1))
		return VM_RUNNING;
	*code = 1;
	return VM_FAIL;
#endif
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!vm.cfg) {
		vm.cfg = &cfg;
		pthread_mutex_init(&vm.ctl_lock, NULL);
		pthread_cond_init(&vm.ctl_cond, NULL);
		if (vm_create_device(&vm, MODEL, &(struct dev_params){ .base = BASE, .irq = -1 }))
			abort();
	}
	atomic_store(&vm.exit_reason, VM_RUNNING);
	/* 10-byte steps: op, offset selector, value (8). */
	for (; size >= 10; data += 10, size -= 10) {
		unsigned op = data[0], width = 1u << (op >> 4 & 3);
		uint64_t v, got = 0, pa;
		int code, hit;
		enum vm_exit want;

		memcpy(&v, data + 2, 8);
		pa = data[1] & 0x80 ? BASE - 8 + data[1] % 24 : BASE + (uint64_t)data[1] * 16 % SIZE;
		if (data[1] & 0x40)
			pa = BASE;
		if (op & 1) {
			hit = vm_mmio_read(&vm, pa, width, &got) == 0;
			/* inside the window: the device answers; outside: nothing */
			if (hit != (pa >= BASE && pa - BASE < SIZE && width <= SIZE - (pa - BASE)))
				abort();
#ifndef SYSDEV_SIFIVE_TEST
			if (hit && got != (pa == BASE ? 3 : 0))
				abort();
#else
			if (hit && got != 0)
				abort();
#endif
			continue;
		}
		hit = vm_mmio_write(&vm, pa, width, v) == 0;
		want = hit ? expect(pa - BASE, v, width, &code) : VM_RUNNING;
		if (atomic_load(&vm.exit_reason) != (int)want ||
		    (want != VM_RUNNING && atomic_load(&vm.exit_code) != code))
			abort();
		atomic_store(&vm.exit_reason, VM_RUNNING);
	}
	return 0;
}
