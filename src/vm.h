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

/* --mode is a preset over these three choices, which the user may also
 * make one by one (--cpu, --sbi, --devices; see cli.c). */
enum vm_sbi { SBI_FIRMWARE, SBI_MONITOR };          /* RISC-V: who answers ecalls from S */
enum vm_devices { DEVICES_REAL, DEVICES_VIRTIO };   /* console/rng on chips or virtio */

struct vm_config {
	enum vm_mode mode;
	const char *engine;           /* --cpu: "interp", "kvm" */
	enum vm_sbi sbi;
	enum vm_devices devices;
	bool no_reboot;               /* a guest reboot ends trevo (status 0) */
	bool no_sandbox;              /* --sandbox off: no seccomp filters */
	const char *qmp;              /* --qmp unix:PATH[,server] or NULL */
	const char *kernel, *initrd, *append, *firmware;
	uint64_t memory;              /* bytes */
	int cpus;
	const char *disks[VM_MAX_DISKS];  int nr_disks;   /* "FILE[,readonly]" */
	const char *nets[VM_MAX_NETS];    int nr_nets;    /* "user[,hostfwd=...]" | "tap:NAME" */
	const char *console;          /* "stdio" (default), "pty", "unix:PATH" */
	uint64_t max_insns;           /* software CPU: stop after this many (0: no limit) */
	bool cpu_trace;               /* --cpu-trace: the translator prints each block */
	const char *restore;          /* --restore FILE: the machine comes from it */
	const char *incoming;         /* --incoming tcp:H:P|unix:PATH: from a migration */
	/* --net tap:NAME beside --restore/--incoming: the machine's tap
	 * interfaces renamed, in order (cli_apply_host_choices). */
	const char *tap_names[VM_MAX_NETS]; int nr_tap_names;
	const char *jail;             /* --jail DIR[,netns] (src/host/jail.c) or NULL */
	long jail_uid, jail_gid;      /* --uid, --gid; -1 if not given */
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
struct engine_ops;
struct board_ops;
struct stats_sink;
struct vmstate;
struct pci_bus;

#define VM_MAX_DESC 64
#define VM_MAX_DOORBELLS 64

/* Exit reasons: what the guest (or the user) asked for. */
enum vm_exit { VM_RUNNING = 0, VM_POWEROFF, VM_REBOOT, VM_FAIL, VM_QUIT };

/* The VM's state machine (QMP query-status): running <-> paused, reset
 * (a passage through paused), shutdown (final). */
enum vm_run_state { VM_STATE_PRELAUNCH, VM_STATE_RUNNING, VM_STATE_PAUSED, VM_STATE_SHUTDOWN };

/* One device instance the VM created, in creation order. */
struct device {
	const struct device_ops *ops;
	void *state;
	char id[32];                 /* "virtio-blk0": model name + index */
	struct device *next;
};

/* A doorbell: a guest write of data (len bytes) at guest-physical addr
 * tells a device that queue work is waiting. A transport registers one per
 * queue; an engine that can catch such writes without a full exit (KVM's
 * ioeventfd) calls ring() from the I/O thread instead of the MMIO handler. */
struct vm_doorbell {
	uint64_t addr;
	unsigned len;
	uint32_t data;
	void (*ring)(void *opaque, uint32_t data);
	void *opaque;
};

/* A memory image loaded at start-up (firmware, kernel, initrd, device
 * tree, boot ROM): kept so that a system reset can put it back. */
struct vm_blob {
	uint64_t gpa;
	uint64_t len;
	uint8_t *data;
	struct vm_blob *next;
};

/* The machine around the engine: memory map, board devices, images and
 * the boot vCPU's registers (src/riscv/board.c, src/x86/board.c). */
struct board_ops {
	const char *name;
	int arch;                    /* enum vcpu_arch (engine.h) of its vCPUs */
	/* Guest RAM, board devices, the engine's vCPUs (vm->engine->create). */
	int (*create)(struct vm *vm);
	/* After the user's devices exist: load images with vm_load_blob and
	 * describe the machine to the guest (device tree, ACPI, boot params). */
	int (*load)(struct vm *vm);
	/* After the blobs were copied back and engine/devices were reset: set
	 * the boot registers of the vCPUs (first boot and every reset). */
	int (*reset)(struct vm *vm);
	/* Restoring (vm->restore set): whether load may wait for the first
	 * system reset, which is the only use of the images a restored
	 * machine has (optional; NULL: load at once). */
	bool (*load_can_wait)(struct vm *vm);
	/* Board's own state for snapshots (optional). */
	int (*state)(struct vm *vm, struct vmstate *s);
	void (*destroy)(struct vm *vm);
};

struct vm {
	struct vm_config *cfg;
	struct guest_mem mem;
	struct bus mmio;
	struct bus pio;
	struct event_loop *loop;     /* host I/O thread */
	struct console *console;     /* host side of the guest console */

	const struct engine_ops *engine;
	void *engine_state;
	const struct board_ops *board;
	void *arch;                  /* the board's own state */
	/* vm_kick's target when there is no engine (device unit tests). */
	void (*kick)(struct vm *vm);

	/* Interrupt controller input, installed by the board (PLIC on RISC-V,
	 * KVM_IRQ_LINE / irqfd on x86). */
	void (*set_irq)(void *ctx, unsigned irq, int level);
	void *irq_ctx;

	/* Allocators for devices placed by the VM (virtio-mmio slots). Lines
	 * [irq_alloc_first, irq_alloc_next) went to devices. */
	uint64_t mmio_alloc_next, mmio_alloc_end;
	int irq_alloc_first, irq_alloc_next, irq_alloc_end;

	struct dev_desc desc[VM_MAX_DESC];
	int nr_desc;
	struct device *devices, **devices_tail;
	struct vm_doorbell doorbell[VM_MAX_DOORBELLS];
	int nr_doorbells;
	struct vm_blob *blobs;
	struct pci_bus *pci;         /* the board's PCI host bridge, or NULL */

	/* Set by devices and the CPU engine; read by the controller. */
	_Atomic int exit_reason;     /* enum vm_exit */
	_Atomic int exit_code;       /* status for VM_FAIL */

	/* The controller (vm.c): requests from QMP and the guest. */
	pthread_mutex_t ctl_lock;
	pthread_cond_t ctl_cond;
	_Atomic int run_state;       /* enum vm_run_state */
	_Atomic int pause_req;       /* vCPUs must park (engines read it) */
	pthread_mutex_t ctl_call_lock; /* one control call at a time */
	int ctl_req;                 /* the pending request, under ctl_lock */
	int ctl_result;              /* its result, under ctl_lock */
	int (*ctl_call)(struct vm *vm, void *arg);   /* VM_REQ_CALL */
	void *ctl_call_arg;
	uint64_t resets;             /* system resets so far */
	/* QMP events (STOP, RESUME, RESET, SHUTDOWN): data is a JSON object
	 * text or NULL. Called from the controller thread. */
	void (*event)(void *opaque, const char *name, const char *data);
	void *event_opaque;
	/* Set to start from a snapshot (--restore): called by vm_run after
	 * the board, the user's devices and the images exist, instead of the
	 * board's reset; prints its own one-line reason on failure. */
	int (*restore)(struct vm *vm, void *ctx);
	void *restore_ctx;
	/* Called once the restored machine's vCPUs run (an incoming migration
	 * tells its source so); optional. */
	void (*restored_running)(struct vm *vm, void *ctx);
	/* Restored without its images (board->load_can_wait): the first
	 * system reset loads them. Controller only. */
	bool images_pending;
	/* Live migration's state on the source (src/migrate/migration.c). */
	struct migration *migration;
};

/* A CPU's access to a physical address that is not RAM: the device's
 * register, truncated to size bytes. 0, or -1 when nothing is there (the
 * engine raises its access fault). Any vCPU thread. */
int vm_mmio_read(struct vm *vm, uint64_t pa, unsigned size, uint64_t *val);
int vm_mmio_write(struct vm *vm, uint64_t pa, unsigned size, uint64_t val);

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
/* Create a device instance by model name (src/dev/device.h); it joins
 * vm->devices. */
int vm_create_device(struct vm *vm, const char *model, const struct dev_params *p);
/* Create the devices the user asked for (--disk, --net) and the virtio
 * console/rng of para/hw modes; shared by every board. */
int vm_create_user_devices(struct vm *vm);

/* Guest asked to stop: poweroff (code 0), reboot, or failure with a code.
 * Any thread, vCPU threads included; returns at once. */
void vm_request_exit(struct vm *vm, enum vm_exit why, int code);
static inline bool vm_should_stop(struct vm *vm)
{
	return atomic_load_explicit(&vm->exit_reason, memory_order_relaxed) != VM_RUNNING;
}
/* For engines: whether vCPUs must park now (pause requested or stopping). */
static inline bool vm_vcpus_must_park(struct vm *vm)
{
	return atomic_load_explicit(&vm->pause_req, memory_order_relaxed) || vm_should_stop(vm);
}
/* Wake the vCPUs (interrupt raised, request pending): engine->kick. */
void vm_kick(struct vm *vm);

/* A device instance by id ("virtio-blk0"), or NULL. */
struct device *vm_find_device(struct vm *vm, const char *id);
int vm_add_doorbell(struct vm *vm, const struct vm_doorbell *db);

/* Copy len bytes to guest RAM at gpa now and again on every system reset.
 * what/path name the image in the one-line error (does not fit in RAM). */
int vm_load_blob(struct vm *vm, const char *what, const char *path, uint64_t gpa,
		 const void *data, uint64_t len);

/* Boards register themselves from their own file (BOARD at the bottom). */
void board_register(const struct board_ops *b);
const struct board_ops *board_find(int arch);
#define BOARD(ops)                                                      \
	__attribute__((constructor)) static void register_board_##ops(void) \
	{                                                               \
		board_register(&ops);                                   \
	}

/* Build and run the VM described by cfg to its end; returns trevo's exit
 * status (guest poweroff 0, failure non-zero). vm->cfg, loop and console
 * are set by the caller. */
int vm_run(struct vm *vm);

/* ---- control, from the QMP thread (never from a vCPU thread) ----------
 * Each call returns once the VM is in the state asked for, or -EBUSY when
 * it is shutting down. */
int vm_pause(struct vm *vm);          /* QMP stop */
int vm_resume(struct vm *vm);         /* QMP cont */
int vm_system_reset(struct vm *vm);   /* QMP system_reset */
/* Run fn(vm, arg) on the controller thread with the vCPUs parked and the
 * devices paused (snapshots, the last phase of a migration); the machine
 * goes on afterwards as it was. Returns fn's result or -EBUSY. */
int vm_call_paused(struct vm *vm, int (*fn)(struct vm *vm, void *arg), void *arg);
void vm_quit(struct vm *vm);          /* QMP quit: ends trevo with status 0 */
enum vm_run_state vm_get_run_state(struct vm *vm);
const char *vm_run_state_name(enum vm_run_state st);  /* "running", "paused"... */
int vm_nr_vcpus(struct vm *vm);
/* Host thread id (gettid) of a vCPU, 0 when it has none yet. */
int vm_vcpu_thread_id(struct vm *vm, int cpu);
const char *vm_arch_name(struct vm *vm);              /* "riscv64", "x86_64" */
/* Every vCPU's and every device's counters: begin(target, path) opens one
 * provider ("vcpu", "/machine/cpu/0"; "device", "/machine/device/virtio-blk0";
 * "vm", "/machine"), then its counters arrive through sink. */
void vm_collect_stats(struct vm *vm, void (*begin)(void *ctx, const char *target, const char *path),
		      const struct stats_sink *sink);

#endif
