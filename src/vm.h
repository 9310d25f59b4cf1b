/* One virtual machine: its configuration, guest memory, buses, devices and
 * lifecycle. Architecture code (src/riscv, src/x86) builds a board on it. */
#ifndef TREVO_VM_H
#define TREVO_VM_H

#include "common.h"
#include "dev/device.h"
#include "mem.h"

#include <pthread.h>
#include <stdatomic.h>

enum vm_mode { MODE_FULL, MODE_PARA, MODE_HW };

#define VM_MAX_DISKS 8
#define VM_MAX_NETS 4

struct vm_config {
	enum vm_mode mode;
	const char *kernel, *initrd, *append, *firmware;
	uint64_t memory;              /* bytes */
	int cpus;
	const char *disks[VM_MAX_DISKS];  int nr_disks;   /* "FILE[,readonly]" */
	const char *nets[VM_MAX_NETS];    int nr_nets;    /* "user[,hostfwd=...]" | "tap:NAME" */
	const char *console;          /* "stdio" (default), "pty", "unix:PATH" */
	uint64_t max_insns;           /* software CPU: stop after this many (0: no limit) */
};

struct mmio_region {
	uint64_t base, size;
	const struct mmio_ops *ops;
	void *opaque;
	const char *name;
};

#define BUS_MAX_REGIONS 64

/* Address decoder for MMIO (and x86 port I/O). Regions are registered before
 * the guest starts and never change afterwards, so lookups take no lock. */
struct bus {
	int nr;
	struct mmio_region region[BUS_MAX_REGIONS];
};

int bus_add(struct bus *b, uint64_t base, uint64_t size, const struct mmio_ops *ops,
	    void *opaque, const char *name);
/* The region holding [addr, addr+len), or NULL. */
const struct mmio_region *bus_find(const struct bus *b, uint64_t addr, unsigned len);

struct console;
struct event_loop;

#define VM_MAX_DESC 64

/* Exit reasons: what the guest asked for. */
enum vm_exit { VM_RUNNING = 0, VM_POWEROFF, VM_REBOOT, VM_FAIL, VM_QUIT };

struct vm {
	struct vm_config *cfg;
	struct guest_mem mem;
	struct bus mmio;
	struct bus pio;
	struct event_loop *loop;     /* host I/O thread */
	struct console *console;     /* host side of the guest console */

	/* Interrupt controller input, installed by the board (PLIC on RISC-V,
	 * KVM_IRQ_LINE / irqfd on x86). */
	void (*set_irq)(void *ctx, unsigned irq, int level);
	void *irq_ctx;

	/* Allocators for devices placed by the VM (virtio-mmio slots). */
	uint64_t mmio_alloc_next, mmio_alloc_end;
	int irq_alloc_next, irq_alloc_end;

	struct dev_desc desc[VM_MAX_DESC];
	int nr_desc;

	/* Set by devices and the CPU engine; read by the run loop. */
	_Atomic int exit_reason;     /* enum vm_exit */
	_Atomic int exit_code;       /* status for VM_FAIL */
	/* Wakes a CPU engine that sleeps in WFI/HLT (interrupt raised, stop). */
	void (*kick)(struct vm *vm);
	void *arch;                  /* the board's own state */
};

int vm_add_mmio(struct vm *vm, uint64_t base, uint64_t size, const struct mmio_ops *ops,
		void *opaque, const char *name);
int vm_add_pio(struct vm *vm, uint16_t port, uint16_t size, const struct mmio_ops *ops,
	       void *opaque, const char *name);
/* A free MMIO window of size bytes (size-aligned, at most 4 KiB granules). */
int vm_alloc_mmio(struct vm *vm, uint64_t size, uint64_t *base);
int vm_alloc_irq(struct vm *vm);
struct irq_line vm_irq_line(struct vm *vm, unsigned irq);
/* Announce a device to the guest (device tree / kernel command line). */
int vm_describe(struct vm *vm, const struct dev_desc *d);
/* Create a device by model name (src/dev/device.h). */
int vm_create_device(struct vm *vm, const char *model, const struct dev_params *p);
/* Create the devices the user asked for (--disk, --net) and the virtio
 * console/rng of para/hw modes; shared by every board. */
int vm_create_user_devices(struct vm *vm);

/* Guest asked to stop: poweroff (code 0), reboot, or failure with a code. */
void vm_request_exit(struct vm *vm, enum vm_exit why, int code);
static inline bool vm_should_stop(struct vm *vm)
{
	return atomic_load_explicit(&vm->exit_reason, memory_order_relaxed) != VM_RUNNING;
}

#endif
