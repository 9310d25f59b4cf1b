/* The vCPU threads of the "kvm" engine: KVM_RUN in a loop, exits
 * dispatched through a table indexed by exit reason to the shared device
 * models on vm->pio and vm->mmio (STYLE.md lesson 5), and the parking that
 * pause, reset and the end of the run need.
 * Documentation/virt/kvm/api.rst is the reference for every ioctl here. */
#include "vcpu.h"
#include "../host/seccomp.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#define KICK_SIGNAL (SIGRTMIN + 3)

static __thread struct kvm_run *tls_run;

/* Runs on the kicked vCPU thread: KVM_RUN returns -EINTR if the signal
 * came in the guest, and immediate_exit covers a signal that comes while
 * the thread is in Trevo between two KVM_RUNs (api.rst, "immediate_exit"). */
static void kick_handler(int sig)
{
	(void)sig;
	if (tls_run)
		tls_run->immediate_exit = 1;
}

/* The kick signal stays blocked everywhere but in the vCPU threads, so
 * that the I/O thread and the controller never see it. Called by the
 * thread that creates the engine, before any other thread starts. */
void x86_kick_init(void)
{
	struct sigaction sa;
	sigset_t set;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = kick_handler;
	sigaction(KICK_SIGNAL, &sa, NULL);
	sigemptyset(&set);
	sigaddset(&set, KICK_SIGNAL);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
}

void x86_vcpu_kick(struct x86_vcpu *c)
{
	if (c->started)
		pthread_kill(c->thread, KICK_SIGNAL);
}

bool x86_vcpu_must_park(struct kvm_engine *e)
{
	return e->paused || e->quit || vm_vcpus_must_park(e->vm);
}

static void guest_failed(struct x86_vcpu *c, const char *what)
{
	struct kvm_regs regs;
	unsigned long long rip = 0;

	if (ioctl(c->fd, KVM_GET_REGS, &regs) == 0)
		rip = regs.rip;
	/* Only the first failure is reported: the others follow from it. */
	if (!vm_should_stop(c->e->vm))
		warn("guest %s on CPU %d at RIP %#llx", what, c->id, rip);
	vm_request_exit(c->e->vm, VM_FAIL, 1);
}

/* ---- exit handlers ---------------------------------------------------- */

typedef void (*exit_fn)(struct x86_vcpu *c);

static void pio_access(struct vm *vm, uint16_t port, uint8_t *data, unsigned size, bool out)
{
	const struct mmio_region *r = bus_find(&vm->pio, port, size);
	uint64_t v = 0;

	if (out) {
		memcpy(&v, data, size);
		if (r && r->ops->write)
			r->ops->write(r->opaque, port - r->base, v, size);
		else
			debug("kvm: unassigned port write %#x <- %#llx", port, (unsigned long long)v);
		return;
	}
	/* An empty ISA bus floats high: absent hardware reads as all ones. */
	v = (r && r->ops->read) ? r->ops->read(r->opaque, port - r->base, size) : ~0ULL;
	memcpy(data, &v, size);
}

static void exit_io(struct x86_vcpu *c)
{
	struct kvm_run *run = c->run;
	uint8_t *data = (uint8_t *)run + run->io.data_offset;
	unsigned size = run->io.size;

	if (size != 1 && size != 2 && size != 4)
		return;
	/* String instructions come as count consecutive items (api.rst). */
	for (unsigned i = 0; i < run->io.count; i++, data += size) {
		pio_access(c->e->vm, run->io.port, data, size, run->io.direction == KVM_EXIT_IO_OUT);
		counter_inc(&c->cnt.io_items);
	}
}

static void exit_mmio(struct x86_vcpu *c)
{
	struct kvm_run *run = c->run;
	struct vm *vm = c->e->vm;
	unsigned len = run->mmio.len;
	uint64_t addr = run->mmio.phys_addr, v = 0;
	const struct mmio_region *r;

	if (len == 0 || len > 8)
		return;
	r = bus_find(&vm->mmio, addr, len);
	if (!r)
		counter_inc(&c->cnt.mmio_exits_unassigned);
	if (run->mmio.is_write) {
		memcpy(&v, run->mmio.data, len);
		if (r && r->ops->write)
			r->ops->write(r->opaque, addr - r->base, v, len);
		else
			debug("kvm: unassigned MMIO write %#llx", (unsigned long long)addr);
		return;
	}
	v = (r && r->ops->read) ? r->ops->read(r->opaque, addr - r->base, len) : ~0ULL;
	memcpy(run->mmio.data, &v, len);
}

/* A triple fault: the guest crashed. (A guest that means to reset asks
 * through its reset ports, which Linux tries before a triple fault.) */
static void exit_shutdown(struct x86_vcpu *c)
{
	guest_failed(c, "triple fault (shutdown)");
}

static void exit_fail_entry(struct x86_vcpu *c)
{
	char what[96];

	snprintf(what, sizeof(what), "could not be entered (hardware reason %#llx)",
		 (unsigned long long)c->run->fail_entry.hardware_entry_failure_reason);
	guest_failed(c, what);
}

/* Some hosts' KVM (nested, emulated in software) cannot run INT3 and stop
 * with an emulation failure. INT3 is simple to do here: a #BP trap whose
 * saved RIP is the next instruction (SDM vol. 3, 6.15 "Interrupt 3").
 * Linux needs it early, for its int3 self-test and text patching. */
static bool emulate_int3(struct x86_vcpu *c)
{
	struct kvm_regs regs;
	struct kvm_translation tr;
	struct kvm_vcpu_events ev;
	uint8_t insn;

	if (c->run->internal.suberror != KVM_INTERNAL_ERROR_EMULATION ||
	    ioctl(c->fd, KVM_GET_REGS, &regs) < 0)
		return false;
	memset(&tr, 0, sizeof(tr));
	tr.linear_address = regs.rip;
	if (ioctl(c->fd, KVM_TRANSLATE, &tr) < 0 || !tr.valid ||
	    gmem_read(&c->e->vm->mem, tr.physical_address, &insn, 1) || insn != 0xcc)
		return false;
	if (ioctl(c->fd, KVM_GET_VCPU_EVENTS, &ev) < 0 || ev.exception.injected || ev.exception.pending)
		return false;
	regs.rip++;
	ev.exception.injected = 1;
	ev.exception.nr = 3;
	ev.exception.has_error_code = 0;
	ev.flags = 0;
	if (ioctl(c->fd, KVM_SET_REGS, &regs) < 0 || ioctl(c->fd, KVM_SET_VCPU_EVENTS, &ev) < 0)
		return false;
	return true;
}

/* The instruction bytes at RIP, for the failure message. */
static void insn_bytes(struct x86_vcpu *c, char *buf, size_t size)
{
	struct kvm_regs regs;
	struct kvm_translation tr = { 0 };
	uint8_t b[15];
	size_t n = 0;

	buf[0] = '\0';
	if (ioctl(c->fd, KVM_GET_REGS, &regs) < 0)
		return;
	tr.linear_address = regs.rip;
	if (ioctl(c->fd, KVM_TRANSLATE, &tr) < 0 || !tr.valid ||
	    gmem_read(&c->e->vm->mem, tr.physical_address, b, sizeof(b)))
		return;
	for (size_t i = 0; i < sizeof(b) && n + 4 < size; i++)
		n += snprintf(buf + n, size - n, " %02x", b[i]);
}

static void exit_internal_error(struct x86_vcpu *c)
{
	char what[160], bytes[64];

	if (emulate_int3(c))
		return;
	insn_bytes(c, bytes, sizeof(bytes));
	snprintf(what, sizeof(what), "hit a KVM internal error (suberror %u%s%s)",
		 c->run->internal.suberror,
		 c->run->internal.suberror == KVM_INTERNAL_ERROR_EMULATION ?
		 ": instruction not emulated, bytes" : "", bytes);
	guest_failed(c, what);
}

static void exit_system_event(struct x86_vcpu *c)
{
	switch (c->run->system_event.type) {
	case KVM_SYSTEM_EVENT_SHUTDOWN:
		vm_request_exit(c->e->vm, VM_POWEROFF, 0);
		break;
	case KVM_SYSTEM_EVENT_RESET:
		vm_request_exit(c->e->vm, VM_REBOOT, 0);
		break;
	default:
		guest_failed(c, "crashed (system event)");
	}
}

static void exit_intr(struct x86_vcpu *c)
{
	(void)c;
}

/* With the in-kernel LAPIC, HLT never comes to user space (the vCPU
 * sleeps in KVM until an interrupt), so there is no KVM_EXIT_HLT here. */
static const exit_fn exit_handlers[] = {
	[KVM_EXIT_IO] = exit_io,
	[KVM_EXIT_MMIO] = exit_mmio,
	[KVM_EXIT_SHUTDOWN] = exit_shutdown,
	[KVM_EXIT_FAIL_ENTRY] = exit_fail_entry,
	[KVM_EXIT_INTERNAL_ERROR] = exit_internal_error,
	[KVM_EXIT_SYSTEM_EVENT] = exit_system_event,
	[KVM_EXIT_INTR] = exit_intr,
};

const char *x86_exit_name(unsigned reason)
{
	switch (reason) {
	case KVM_EXIT_IO: return "exits_io";
	case KVM_EXIT_MMIO: return "exits_mmio";
	case KVM_EXIT_SHUTDOWN: return "exits_shutdown";
	case KVM_EXIT_FAIL_ENTRY: return "exits_fail_entry";
	case KVM_EXIT_INTERNAL_ERROR: return "exits_internal_error";
	case KVM_EXIT_SYSTEM_EVENT: return "exits_system_event";
	case KVM_EXIT_INTR: return "exits_intr";
	}
	return NULL;
}

/* ---- the thread --------------------------------------------------------- */

static void answer_halt_poll(struct x86_vcpu *c)
{
	struct kvm_mp_state mp;
	struct kvm_regs regs;
	int dead = 0;

	if (!atomic_load(&c->poll_req))
		return;
	if (ioctl(c->fd, KVM_GET_MP_STATE, &mp) == 0) {
		if (mp.mp_state == KVM_MP_STATE_UNINITIALIZED ||
		    mp.mp_state == KVM_MP_STATE_INIT_RECEIVED)
			dead = 1;  /* an AP the guest never started */
		else if (mp.mp_state == KVM_MP_STATE_HALTED &&
			 ioctl(c->fd, KVM_GET_REGS, &regs) == 0 && !(regs.rflags & (1u << 9)))
			dead = 1;  /* HLT with IF clear: only NMI/INIT/SMI can wake it */
	}
	atomic_store(&c->halted_dead, dead);
	atomic_store(&c->poll_req, 0);
}

static void report_first_exit(struct kvm_engine *e)
{
	struct timespec ts;
	int expected = 0;

	if (!atomic_compare_exchange_strong(&e->first_exit_done, &expected, 1))
		return;
	clock_gettime(CLOCK_REALTIME, &ts);
	fprintf(stderr, "trevo: first guest exit at %lld.%09ld\n", (long long)ts.tv_sec, ts.tv_nsec);
}

/* Wait, parked, until the vCPU may run again; false when it must end.
 * The thread is at an instruction boundary here (see x86_vcpu_thread). */
static bool park(struct x86_vcpu *c)
{
	struct kvm_engine *e = c->e;
	bool go_on;

	pthread_mutex_lock(&e->lock);
	counter_inc(&c->cnt.parks);
	atomic_store(&c->parked, true);
	e->nr_parked++;
	pthread_cond_broadcast(&e->cond);
	while (x86_vcpu_must_park(e) && !e->quit)
		pthread_cond_wait(&e->cond, &e->lock);
	e->nr_parked--;
	atomic_store(&c->parked, false);
	go_on = !e->quit;
	pthread_mutex_unlock(&e->lock);
	/* A kick that came while parked left immediate_exit set: harmless
	 * (one empty KVM_RUN), but clear it to save the round trip. */
	c->run->immediate_exit = 0;
	return go_on;
}

void *x86_vcpu_thread(void *arg)
{
	struct x86_vcpu *c = arg;
	struct kvm_engine *e = c->e;
	struct vm *vm = e->vm;
	/* Whether the last exit's operation is complete. An IN or MMIO read
	 * is finished by KVM only on the next KVM_RUN (api.rst, "KVM_RUN":
	 * "the corresponding operations are complete (and guest state is
	 * consistent) only after userspace has re-entered the kernel with
	 * KVM_RUN ... with the immediate_exit field set to complete pending
	 * operations without allowing any further instructions to be
	 * executed"). So a vCPU parks only after a KVM_RUN that returned
	 * -EINTR/-EAGAIN: then it stands at an instruction boundary. */
	bool at_boundary = true;
	sigset_t set;

	tls_run = c->run;
	atomic_store(&c->tid, (int)gettid());
	sigemptyset(&set);
	sigaddset(&set, KICK_SIGNAL);
	pthread_sigmask(SIG_UNBLOCK, &set, NULL);
	seccomp_enter(SECCOMP_VCPU_KVM);

	for (;;) {
		unsigned reason;

		if (unlikely(x86_vcpu_must_park(e))) {
			if (at_boundary) {
				if (!park(c))
					break;
				continue;
			}
			/* Finish the pending operation, run nothing more. It
			 * may still exit once more (the rest of a string I/O):
			 * that exit is handled below like any other. */
			c->run->immediate_exit = 1;
		} else {
			answer_halt_poll(c);
		}
		if (ioctl(c->fd, KVM_RUN, 0) < 0) {
			if (errno == EINTR || errno == EAGAIN) {
				c->run->immediate_exit = 0;
				at_boundary = true;
				counter_inc(&c->cnt.kicks_seen);
				continue;
			}
			warn("kvm: KVM_RUN on CPU %d: %s", c->id, strerror(errno));
			vm_request_exit(vm, VM_FAIL, 1);
			at_boundary = true;  /* nothing pending we could finish */
			continue;
		}
		at_boundary = false;
		if (unlikely(e->report_first_exit))
			report_first_exit(e);
		reason = c->run->exit_reason;
		if (reason < VCPU_EXIT_REASONS)
			counter_inc(&c->cnt.exits[reason]);
		if (reason >= ARRAY_SIZE(exit_handlers) || !exit_handlers[reason]) {
			char what[64];
			snprintf(what, sizeof(what), "stopped with unhandled KVM exit %u", reason);
			guest_failed(c, what);
			continue;
		}
		exit_handlers[reason](c);
	}
	return NULL;
}
