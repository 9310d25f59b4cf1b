/* What a device model sees of the machine it is plugged into. The same
 * interface serves the RISC-V board (software CPU) and the KVM machine, so a
 * device file never knows which CPU engine drives it (STYLE.md lessons 1, 2). */
#ifndef TREVO_DEVICE_H
#define TREVO_DEVICE_H

#include "../common.h"

struct vm;

/* Register accessors. Called from vCPU threads (several at once under KVM)
 * and never concurrently with the device's own I/O thread unless the device
 * locks: every device protects its state with its own mutex where it has an
 * I/O thread or is reachable from several vCPUs. size is 1, 2, 4 or 8;
 * offset is relative to the region base. Reads of unknown registers return 0,
 * writes to them are ignored: the guest never makes Trevo fail. */
struct mmio_ops {
	uint64_t (*read)(void *opaque, uint64_t offset, unsigned size);
	void (*write)(void *opaque, uint64_t offset, uint64_t value, unsigned size);
};

/* One interrupt input of the machine's interrupt controller (PLIC source on
 * RISC-V, GSI on x86). Safe to call from any thread. */
struct irq_line {
	void (*set)(void *ctx, unsigned irq, int level);
	void *ctx;
	unsigned irq;
};

static inline void irq_set_level(const struct irq_line *l, int level)
{
	if (l->set)
		l->set(l->ctx, l->irq, level);
}

/* How a device announces itself to the guest: the RISC-V board turns these
 * into device-tree nodes, the x86 machine into virtio_mmio.device= options. */
struct dev_desc {
	char node_name[32];         /* e.g. "serial", "virtio_mmio" */
	const char *compatible;     /* may hold several NUL-separated strings */
	size_t compatible_len;      /* 0: strlen(compatible) + 1 */
	uint64_t base, size;        /* MMIO window; size 0 for none */
	int irq;                    /* -1 for none */
	/* Device-tree phandle the board gave the node (0: none); the board
	 * hands them out, so that it can point other nodes at this one. */
	uint32_t phandle;
	/* Extra device-tree properties, called with the libfdt tree (void * to
	 * keep libfdt out of device files that do not need it). */
	void (*fdt_extra)(void *fdt, void *opaque);
	void *opaque;
};

/* Creation parameters chosen by the board (fixed addresses) or by the user
 * (--disk, --net ...). */
struct dev_params {
	uint64_t base;       /* MMIO base; 0 lets the VM allocate a slot */
	uint16_t port;       /* x86 port base, 0 for none */
	int irq;             /* interrupt line; -1 lets the VM allocate */
	const char *arg;     /* device-specific option string, may be NULL */
	int index;           /* set by vm_create_device: instances of this model
				created before this one (MAC addresses, names) */
};

/* One const table per device model (STYLE.md lesson 1; bhyve's
 * virtio_consts, Firecracker's persist.rs). A model registers it from its own
 * file (DEVICE_MODEL at the bottom); the board creates instances by name and
 * never lists models. The VM keeps every instance it created (struct device,
 * vm.h) and drives its lifecycle through these callbacks; every one but
 * create and destroy is optional. A model keeps no state in statics: all of
 * it hangs off the instance.
 *
 * Which thread does what (register accesses, host I/O, completions) is the
 * I/O model written down once, in src/dev/README.md. */
struct vmstate;
struct stats_sink;

struct device_ops {
	const char *name;
	/* Returns 0 and the instance in *state, or -errno after printing its
	 * own one-line reason on bad input. */
	int (*create)(struct vm *vm, const struct dev_params *p, void **state);
	/* Back to the power-on state the guest sees (system reset). Called
	 * while the vCPUs and the device are paused. */
	void (*reset)(void *state);
	/* Stop taking requests and let in-flight I/O finish (its completions
	 * are in guest RAM when pause returns); resume undoes it. Register
	 * accesses cannot arrive while paused: the vCPUs are parked first. */
	void (*pause)(void *state);
	void (*resume)(void *state);
	/* Save or load (s->loading) the guest-visible state: one symmetric,
	 * versioned function (vmstate.h). Host plumbing (fds, threads, back
	 * ends) is not part of it. Called while paused. 0 or -errno. */
	int (*state)(void *state, struct vmstate *s);
	/* Counters: requests, bytes, notifications, interrupts. */
	void (*stats)(void *state, const struct stats_sink *s);
	/* Join threads, close fds, free the instance. */
	void (*destroy)(void *state);
};

void device_model_register(const struct device_ops *m);
const struct device_ops *device_model_find(const char *name);

#define DEVICE_MODEL(model)                                              \
	__attribute__((constructor)) static void register_##model(void) \
	{                                                                \
		device_model_register(&model);                           \
	}

#endif
