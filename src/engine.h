/* The CPU engine seam (STYLE.md lesson 6; QEMU's AccelOps, kvmtool's
 * kvm_cpu__* hooks): whatever executes guest instructions sits behind one
 * const table, chosen at run time (--cpu). The run loop, the state machine
 * and the devices are written once in vm.c and never know which engine runs.
 *
 * Engines: "interp" (src/riscv/engine.c: the RV64GC interpreter) and "kvm"
 * (src/x86/engine.c: Linux KVM, x86-64); a translator will be the third.
 *
 * Threads: an engine runs its vCPUs on threads of its own. A vCPU thread
 * stops executing guest code and parks at an instruction boundary whenever
 * a pause is requested or vm_should_stop() is true, and tells the
 * controller (vm.c) so through vm_vcpus_parked(). Only the controller
 * thread calls pause, resume, reset, get/set_vcpu and destroy. */
#ifndef TREVO_ENGINE_H
#define TREVO_ENGINE_H

#include "common.h"
#include "riscv/state.h"
#include "x86/state.h"

struct vm;
struct stats_sink;

enum vcpu_arch { VCPU_ARCH_RISCV64 = 1, VCPU_ARCH_X86_64 = 2 };

/* The architectural state of one vCPU: plain data, no host pointers, so it
 * can be compared, copied and written to a snapshot as it is. */
#define VCPU_STATE_VERSION 1
struct vcpu_state {
	uint32_t version;      /* VCPU_STATE_VERSION */
	uint32_t arch;         /* enum vcpu_arch */
	union {
		struct rv_vcpu_state rv;
		struct x86_vcpu_state x86;
	};
};

struct engine_ops {
	const char *name;      /* "interp", "kvm": the --cpu value */
	enum vcpu_arch arch;
	/* Create vm->cfg->cpus vCPUs in their reset state; guest memory and
	 * the board exist. 0 or -errno (message printed). */
	int (*create)(struct vm *vm);
	/* Start the vCPU threads (paused if vm says so); returns at once. */
	int (*start)(struct vm *vm);
	/* Any thread: make every vCPU look at its requests soon (interrupt
	 * raised, pause, stop), waking it from WFI/HLT. */
	void (*kick)(struct vm *vm);
	/* Controller: park every vCPU at an instruction boundary and return
	 * once all are parked. Idempotent. */
	void (*pause)(struct vm *vm);
	/* Controller: let parked vCPUs run again. */
	void (*resume)(struct vm *vm);
	/* Controller, while paused: put every vCPU in its power-on reset
	 * state (the board then sets the boot vCPU's registers). */
	void (*reset)(struct vm *vm);
	/* Controller, while paused (or before start). 0 or -errno. */
	int (*get_vcpu)(struct vm *vm, int cpu, struct vcpu_state *s);
	int (*set_vcpu)(struct vm *vm, int cpu, const struct vcpu_state *s);
	/* Any thread: translated or decoded code for [gpa, gpa+len) is stale
	 * (the host wrote guest RAM: loaders, snapshot restore). */
	void (*invalidate_code)(struct vm *vm, uint64_t gpa, uint64_t len);
	/* Live migration's dirty log (optional; NULL: the engine cannot
	 * migrate). Both on the controller, while paused. dirty_log: start
	 * (on) or stop marking pages the vCPUs write, in vm->mem's bitmaps
	 * (gmem_dirty_page) or in a log of the engine's own; dirty_sync, just
	 * before the bitmaps are fetched and cleared: move the engine's own
	 * log into them, or arm the tracking again for the pages marked. 0 or
	 * -errno. */
	int (*dirty_log)(struct vm *vm, bool on);
	int (*dirty_sync)(struct vm *vm);
	/* Counters of one vCPU (instructions, traps or exits by reason,
	 * interrupts, hypercalls); racy reads are fine. */
	void (*vcpu_stats)(struct vm *vm, int cpu, const struct stats_sink *s);
	/* Host thread id (gettid) running the vCPU, 0 if not started. */
	int (*vcpu_thread_id)(struct vm *vm, int cpu);
	/* Controller: stop for good, join the threads, free everything. */
	void (*destroy)(struct vm *vm);
};

/* Engines register themselves from their own file. */
void engine_register(const struct engine_ops *e);
const struct engine_ops *engine_find(const char *name);
#define ENGINE(ops)                                                     \
	__attribute__((constructor)) static void register_engine_##ops(void) \
	{                                                               \
		engine_register(&ops);                                  \
	}

#endif
