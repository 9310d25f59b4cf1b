/* The "kvm" engine's own state: what engine.c (the engine ops) and vcpu.c
 * (the vCPU threads and their exit table) share. */
#ifndef TREVO_X86_VCPU_H
#define TREVO_X86_VCPU_H

#include "x86.h"
#include "state.h"

#include <pthread.h>
#include <stdatomic.h>

struct kvm_engine;

/* Counters kept by the vCPU thread itself: one writer, racy readers. */
#define VCPU_EXIT_REASONS 64
struct vcpu_counters {
	_Atomic uint64_t exits[VCPU_EXIT_REASONS];  /* by KVM_EXIT_* reason */
	_Atomic uint64_t io_items;      /* port accesses (a rep string counts each) */
	_Atomic uint64_t mmio_exits_unassigned;
	_Atomic uint64_t kicks_seen;    /* KVM_RUN returned -EINTR/-EAGAIN */
	_Atomic uint64_t parks;
};

static inline void counter_inc(_Atomic uint64_t *c)
{
	atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed) + 1,
			      memory_order_relaxed);
}

struct x86_vcpu {
	struct kvm_engine *e;
	int id;
	int fd;
	struct kvm_run *run;
	pthread_t thread;
	bool started;
	_Atomic int tid;            /* gettid() of the thread, 0 before start */
	_Atomic bool parked;        /* under e->lock: waiting in park() */
	/* Halt poll: the watcher sets poll_req and kicks; the vCPU answers
	 * with halted_dead (halted with interrupts off, or never started). */
	_Atomic int poll_req;
	_Atomic int halted_dead;
	int stats_fd;               /* KVM_GET_STATS_FD, -1 if none */
	struct vcpu_counters cnt;
};

/* KVM's own counters of a vCPU (KVM_GET_STATS_FD): where each one is. */
struct kvm_stat {
	char name[48];
	uint32_t offset;     /* in u64 units in the data block */
};

struct kvm_stats_info {
	struct kvm_stat *stat;
	int nr;
	uint64_t data_offset;
	uint32_t data_words;
};

struct kvm_engine {
	struct vm *vm;
	struct x86_machine *m;
	int nr_cpus;
	struct x86_vcpu cpu[X86_MAX_CPUS];

	pthread_mutex_t lock;
	pthread_cond_t cond;        /* park/unpark and "all parked" */
	bool paused;                /* engine pause requested (under lock) */
	bool quit;                  /* destroy: threads leave (under lock) */
	int nr_parked;              /* under lock */

	pthread_t watcher;          /* the halt poll */
	bool watcher_started;

	/* Every MSR the state carries (state.h) that this vCPU accepts. */
	uint32_t msr_index[X86_STATE_MAX_MSRS];
	uint32_t nr_msrs;
	bool tsc_offset_attr;       /* KVM_VCPU_TSC_OFFSET instead of the TSC MSR */
	bool have_xcrs, have_debugregs, have_xsave;

	/* The power-on state captured at create, put back by reset. */
	struct x86_vcpu_state *power_on;
	/* From create or reset until start or resume no vCPU runs, and none
	 * can take an interrupt (LAPIC LVTs and IOAPIC pins are masked at
	 * power-on, so device lines reach no vCPU): each one's state is
	 * exactly known[i], which get_vcpu returns and set_vcpu writes only
	 * the changes against (the board's boot registers: four ioctls, not
	 * thirty, which shows where KVM is nested). Controller only. */
	struct x86_vcpu_state *known;
	bool known_valid;
	struct kvm_irqchip chip[3];  /* PIC master, PIC slave, IOAPIC */
	struct kvm_pit_state2 pit;

	/* ioeventfds, one per vm->doorbell that has one */
	struct kvm_doorbell {
		const struct vm_doorbell *db;
		int fd;
	} doorbell[VM_MAX_DOORBELLS];
	int nr_doorbells;

	struct kvm_stats_info kstats;

	bool report_first_exit;
	_Atomic int first_exit_done;
};

/* vcpu.c */
void *x86_vcpu_thread(void *arg);
/* Whether vCPUs must stay parked now. Caller holds e->lock or accepts a
 * racy answer (the thread re-checks under the lock). */
bool x86_vcpu_must_park(struct kvm_engine *e);
void x86_vcpu_kick(struct x86_vcpu *c);
void x86_kick_init(void);
/* Names of the exit reasons that the table handles, for the stats. */
const char *x86_exit_name(unsigned reason);

#endif
