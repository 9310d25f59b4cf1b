/* The x86-64 machine on Linux KVM (--mode hw): one VM, one thread per vCPU,
 * the in-kernel LAPIC/IOAPIC/PIC and PIT, and exits dispatched through a
 * table indexed by exit reason to the shared device models on vm->pio and
 * vm->mmio. Documentation/virt/kvm/api.rst is the reference for every ioctl
 * used here. */
#include "x86.h"

#include "../host/console.h"
#include "../host/loop.h"
#include "../machine.h"

#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

struct kvm_machine;

struct vcpu {
	struct kvm_machine *m;
	int id;
	int fd;
	struct kvm_run *run;
	pthread_t thread;
	bool started;
	/* Halt poll: the main thread sets poll_req and kicks; the vCPU answers
	 * with halted_dead (halted with interrupts off, or never started). */
	_Atomic int poll_req;
	_Atomic int halted_dead;
};

/* One interrupt line of the IOAPIC. Level-triggered virtio lines go
 * through an irqfd with a resample eventfd when KVM has them; the others
 * (and every line without irqfd) through KVM_IRQ_LINE. */
#define X86_NR_GSI 24

struct irq_route {
	struct kvm_machine *m;
	unsigned gsi;
	int fd, resample_fd;        /* -1: no irqfd */
	_Atomic int level;          /* the device's line, as last set */
};

struct kvm_machine {
	struct vm *vm;
	int kvm_fd, vm_fd;
	int run_size;
	int nr_cpus;
	struct vcpu cpu[X86_MAX_CPUS];
	struct kvm_cpuid2 *cpuid;
	struct x86_boot boot;
	pthread_mutex_t lock;
	pthread_cond_t cond;        /* signalled on stop requests */
	bool report_first_exit;
	_Atomic int first_exit_done;
	struct irq_route irq[X86_NR_GSI];
};

#define KICK_SIGNAL (SIGRTMIN + 3)
#define HALT_POLL_NS (100 * 1000 * 1000ULL)

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

static void kick_cpu(struct vcpu *c)
{
	if (c->started)
		pthread_kill(c->thread, KICK_SIGNAL);
}

static void machine_kick(struct vm *vm)
{
	struct kvm_machine *m = vm->arch;

	for (int i = 0; i < m->nr_cpus; i++)
		kick_cpu(&m->cpu[i]);
	pthread_mutex_lock(&m->lock);
	pthread_cond_broadcast(&m->cond);
	pthread_mutex_unlock(&m->lock);
}

/* vm->set_irq: a GSI of the in-kernel IOAPIC/PIC, level semantics. */
static void irqfd_assert(struct irq_route *r)
{
	uint64_t one = 1;

	if (write(r->fd, &one, sizeof(one)) != sizeof(one))
		debug("kvm: irqfd %u: %s", r->gsi, strerror(errno));
}

/* vm->set_irq, from any thread: a GSI of the in-kernel IOAPIC/PIC, level
 * semantics. With a resampling irqfd (api.rst, KVM_IRQFD) KVM holds the line
 * up from the eventfd write until the guest's EOI, then drops it and signals
 * the resample fd; so only rising edges are written here, and
 * irqfd_resample() raises the line again if the device still holds it. A
 * device that lowers its line before the EOI may cost the guest one
 * spurious interrupt, which virtio drivers expect (ISR reads 0). */
static void kvm_set_irq(void *ctx, unsigned irq, int level)
{
	struct kvm_machine *m = ctx;
	struct kvm_irq_level l = { .irq = irq, .level = level ? 1 : 0 };

	if (irq < X86_NR_GSI && m->irq[irq].fd >= 0) {
		struct irq_route *r = &m->irq[irq];
		if (atomic_exchange(&r->level, l.level) == 0 && l.level)
			irqfd_assert(r);
		return;
	}
	if (ioctl(m->vm_fd, KVM_IRQ_LINE, &l) < 0)
		debug("kvm: KVM_IRQ_LINE %u: %s", irq, strerror(errno));
}

/* I/O thread: the guest has EOI'd the line and KVM dropped it. */
static void irqfd_resample(void *opaque, uint32_t events)
{
	struct irq_route *r = opaque;
	uint64_t cnt;

	(void)events;
	if (read(r->resample_fd, &cnt, sizeof(cnt)) != sizeof(cnt))
		return;
	if (atomic_load(&r->level))
		irqfd_assert(r);
}

static void setup_irqfds(struct kvm_machine *m)
{
	struct vm *vm = m->vm;

	if (getenv("TREVO_NO_IRQFD") || ioctl(m->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_IRQFD) <= 0 ||
	    ioctl(m->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_IRQFD_RESAMPLE) <= 0)
		return;
	for (int i = 0; i < vm->nr_desc; i++) {
		const struct dev_desc *d = &vm->desc[i];
		struct irq_route *r;
		struct kvm_irqfd irqfd;

		if (strcmp(d->compatible, "virtio,mmio") || d->irq < 0 || d->irq >= X86_NR_GSI)
			continue;
		r = &m->irq[d->irq];
		if (r->fd >= 0)
			continue;
		r->fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		r->resample_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		memset(&irqfd, 0, sizeof(irqfd));
		irqfd.fd = r->fd;
		irqfd.gsi = r->gsi;
		irqfd.flags = KVM_IRQFD_FLAG_RESAMPLE;
		irqfd.resamplefd = r->resample_fd;
		if (r->fd < 0 || r->resample_fd < 0 || ioctl(m->vm_fd, KVM_IRQFD, &irqfd) < 0 ||
		    loop_add_fd(vm->loop, r->resample_fd, EPOLLIN, irqfd_resample, r) < 0) {
			debug("kvm: no irqfd for GSI %u: %s", r->gsi, strerror(errno));
			if (r->fd >= 0)
				close(r->fd);
			if (r->resample_fd >= 0)
				close(r->resample_fd);
			r->fd = r->resample_fd = -1;
		}
	}
}

static void guest_failed(struct vcpu *c, const char *what)
{
	struct kvm_regs regs;
	unsigned long long rip = 0;

	if (ioctl(c->fd, KVM_GET_REGS, &regs) == 0)
		rip = regs.rip;
	/* Only the first failure is reported: the others follow from it. */
	if (!vm_should_stop(c->m->vm))
		warn("guest %s on CPU %d at RIP %#llx", what, c->id, rip);
	vm_request_exit(c->m->vm, VM_FAIL, 1);
}

/* ---- exit handlers ---------------------------------------------------- */

typedef int (*exit_fn)(struct vcpu *c);

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

static int exit_io(struct vcpu *c)
{
	struct kvm_run *run = c->run;
	uint8_t *data = (uint8_t *)run + run->io.data_offset;
	unsigned size = run->io.size;

	if (size != 1 && size != 2 && size != 4)
		return 0;
	/* String instructions come as count consecutive items (api.rst). */
	for (unsigned i = 0; i < run->io.count; i++, data += size)
		pio_access(c->m->vm, run->io.port, data, size, run->io.direction == KVM_EXIT_IO_OUT);
	return 0;
}

static int exit_mmio(struct vcpu *c)
{
	struct kvm_run *run = c->run;
	struct vm *vm = c->m->vm;
	unsigned len = run->mmio.len;
	uint64_t addr = run->mmio.phys_addr, v = 0;
	const struct mmio_region *r;

	if (len == 0 || len > 8)
		return 0;
	r = bus_find(&vm->mmio, addr, len);
	if (run->mmio.is_write) {
		memcpy(&v, run->mmio.data, len);
		if (r && r->ops->write)
			r->ops->write(r->opaque, addr - r->base, v, len);
		else
			debug("kvm: unassigned MMIO write %#llx", (unsigned long long)addr);
		return 0;
	}
	v = (r && r->ops->read) ? r->ops->read(r->opaque, addr - r->base, len) : ~0ULL;
	memcpy(run->mmio.data, &v, len);
	return 0;
}

/* Only without an in-kernel LAPIC; kept for completeness. */
static int exit_hlt(struct vcpu *c)
{
	(void)c;
	return 0;
}

/* A triple fault. After a reboot request it is the reset itself (Linux's
 * last reboot method); otherwise the guest crashed. */
static int exit_shutdown(struct vcpu *c)
{
	guest_failed(c, "triple fault (shutdown)");
	return -1;
}

static int exit_fail_entry(struct vcpu *c)
{
	char what[96];

	snprintf(what, sizeof(what), "could not be entered (hardware reason %#llx)",
		 (unsigned long long)c->run->fail_entry.hardware_entry_failure_reason);
	guest_failed(c, what);
	return -1;
}

/* Some hosts' KVM (nested, emulated in software) cannot run INT3 and stop
 * with an emulation failure. INT3 is simple to do here: a #BP trap whose
 * saved RIP is the next instruction (SDM vol. 3, 6.15 "Interrupt 3").
 * Linux needs it early, for its int3 self-test and text patching. */
static bool emulate_int3(struct vcpu *c)
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
	    gmem_read(&c->m->vm->mem, tr.physical_address, &insn, 1) || insn != 0xcc)
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
static void insn_bytes(struct vcpu *c, char *buf, size_t size)
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
	    gmem_read(&c->m->vm->mem, tr.physical_address, b, sizeof(b)))
		return;
	for (size_t i = 0; i < sizeof(b) && n + 4 < size; i++)
		n += snprintf(buf + n, size - n, " %02x", b[i]);
}

static int exit_internal_error(struct vcpu *c)
{
	char what[160], bytes[64];

	if (emulate_int3(c))
		return 0;
	insn_bytes(c, bytes, sizeof(bytes));
	snprintf(what, sizeof(what), "hit a KVM internal error (suberror %u%s%s)",
		 c->run->internal.suberror,
		 c->run->internal.suberror == KVM_INTERNAL_ERROR_EMULATION ?
		 ": instruction not emulated, bytes" : "", bytes);
	guest_failed(c, what);
	return -1;
}

static int exit_system_event(struct vcpu *c)
{
	switch (c->run->system_event.type) {
	case KVM_SYSTEM_EVENT_SHUTDOWN:
		vm_request_exit(c->m->vm, VM_POWEROFF, 0);
		return -1;
	case KVM_SYSTEM_EVENT_RESET:
		vm_request_exit(c->m->vm, VM_REBOOT, 0);
		return -1;
	default:
		guest_failed(c, "crashed (system event)");
		return -1;
	}
}

static int exit_intr(struct vcpu *c)
{
	(void)c;
	return 0;
}

static const exit_fn exit_handlers[] = {
	[KVM_EXIT_IO] = exit_io,
	[KVM_EXIT_MMIO] = exit_mmio,
	[KVM_EXIT_HLT] = exit_hlt,
	[KVM_EXIT_SHUTDOWN] = exit_shutdown,
	[KVM_EXIT_FAIL_ENTRY] = exit_fail_entry,
	[KVM_EXIT_INTERNAL_ERROR] = exit_internal_error,
	[KVM_EXIT_SYSTEM_EVENT] = exit_system_event,
	[KVM_EXIT_INTR] = exit_intr,
};

/* ---- vCPU threads --------------------------------------------------- */

static void answer_halt_poll(struct vcpu *c)
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

static void report_first_exit(struct kvm_machine *m)
{
	struct timespec ts;
	int expected = 0;

	if (!atomic_compare_exchange_strong(&m->first_exit_done, &expected, 1))
		return;
	clock_gettime(CLOCK_REALTIME, &ts);
	fprintf(stderr, "trevo: first guest exit at %lld.%09ld\n", (long long)ts.tv_sec, ts.tv_nsec);
}

static void *vcpu_thread(void *arg)
{
	struct vcpu *c = arg;
	struct kvm_machine *m = c->m;
	struct vm *vm = m->vm;
	sigset_t set;

	tls_run = c->run;
	sigemptyset(&set);
	sigaddset(&set, KICK_SIGNAL);
	pthread_sigmask(SIG_UNBLOCK, &set, NULL);

	while (!vm_should_stop(vm)) {
		unsigned reason;

		if (ioctl(c->fd, KVM_RUN, 0) < 0) {
			if (errno == EINTR || errno == EAGAIN) {
				c->run->immediate_exit = 0;
				answer_halt_poll(c);
				continue;
			}
			warn("kvm: KVM_RUN on CPU %d: %s", c->id, strerror(errno));
			vm_request_exit(vm, VM_FAIL, 1);
			break;
		}
		if (unlikely(m->report_first_exit))
			report_first_exit(m);
		reason = c->run->exit_reason;
		if (reason >= ARRAY_SIZE(exit_handlers) || !exit_handlers[reason]) {
			char what[64];
			snprintf(what, sizeof(what), "stopped with unhandled KVM exit %u", reason);
			guest_failed(c, what);
			break;
		}
		if (exit_handlers[reason](c) < 0)
			break;
	}
	return NULL;
}

/* ---- Trevo's own little ports ------------------------------------------ */

/* 0x501: test guests end the run with a status (X86_EXIT_PORT). */
static uint64_t exit_port_read(void *opaque, uint64_t off, unsigned size)
{
	(void)opaque; (void)off; (void)size;
	return 0;
}

static void exit_port_write(void *opaque, uint64_t off, uint64_t value, unsigned size)
{
	struct vm *vm = opaque;
	int code;

	(void)off;
	value &= size >= 8 ? ~0ULL : (1ULL << (8 * size)) - 1;
	if (value == 0) {
		vm_request_exit(vm, VM_POWEROFF, 0);
		return;
	}
	code = (int)(value & 0xff);
	vm_request_exit(vm, VM_FAIL, code ? code : 1);
}

static const struct mmio_ops exit_port_ops = { exit_port_read, exit_port_write };

/* The i8042 keyboard controller, reduced to what a guest uses to reset the
 * machine: command 0xfe on port 0x64 pulses the CPU reset line. Status reads
 * say "input buffer empty" so that Linux does not wait on it. */
static uint64_t i8042_read(void *opaque, uint64_t off, unsigned size)
{
	(void)opaque; (void)off; (void)size;
	return 0;
}

static void i8042_write(void *opaque, uint64_t off, uint64_t value, unsigned size)
{
	(void)size;
	if (off == 0 && (value & 0xff) == 0xfe)
		vm_request_exit(opaque, VM_REBOOT, 0);
}

static const struct mmio_ops i8042_ops = { i8042_read, i8042_write };

/* ACPI (HW-reduced, ACPI 6.4 section 4.8.3.7): the sleep control register
 * takes SLP_TYPx << 2 | SLP_EN (bit 5); our \_S5 has SLP_TYP 5. The reset
 * register takes X86_ACPI_RESET_VAL. Port 0xcf9 is the PIIX reset control
 * register that some guests try as well. */
static uint64_t acpi_read(void *opaque, uint64_t off, unsigned size)
{
	(void)opaque; (void)size;
	return off == 1 ? 0x80 : 0;  /* sleep status: WAK_STS */
}

static void acpi_write(void *opaque, uint64_t off, uint64_t value, unsigned size)
{
	struct vm *vm = opaque;

	(void)size;
	if (off == 0 && (value & 0x20)) {
		if (((value >> 2) & 7) == 5)
			vm_request_exit(vm, VM_POWEROFF, 0);
	} else if (off == 2 && (value & 0xff) == X86_ACPI_RESET_VAL) {
		vm_request_exit(vm, VM_REBOOT, 0);
	}
}

static const struct mmio_ops acpi_ops = { acpi_read, acpi_write };

static uint64_t cf9_read(void *opaque, uint64_t off, unsigned size)
{
	(void)opaque; (void)off; (void)size;
	return 0;
}

static void cf9_write(void *opaque, uint64_t off, uint64_t value, unsigned size)
{
	(void)off; (void)size;
	if (value & 0x04)  /* RST_CPU */
		vm_request_exit(opaque, VM_REBOOT, 0);
}

static const struct mmio_ops cf9_ops = { cf9_read, cf9_write };

/* Port 0x80 (POST codes, Linux's I/O delay): accepted and dropped. */
static uint64_t null_read(void *opaque, uint64_t off, unsigned size)
{
	(void)opaque; (void)off; (void)size;
	return 0xff;
}

static void null_write(void *opaque, uint64_t off, uint64_t value, unsigned size)
{
	(void)opaque; (void)off; (void)value; (void)size;
}

static const struct mmio_ops null_ops = { null_read, null_write };

static void add_system_ports(struct vm *vm)
{
	if (vm_add_pio(vm, X86_EXIT_PORT, 4, &exit_port_ops, vm, "exit-port") ||
	    vm_add_pio(vm, 0x64, 1, &i8042_ops, vm, "i8042-reset") ||
	    vm_add_pio(vm, X86_ACPI_PORT_BASE, 4, &acpi_ops, vm, "acpi-pm") ||
	    vm_add_pio(vm, 0xcf9, 1, &cf9_ops, vm, "reset-control") ||
	    vm_add_pio(vm, 0x80, 1, &null_ops, vm, "post-code"))
		die("kvm: cannot register the system ports");
}

/* ---- VM set-up ------------------------------------------------------- */

static int kvm_open(void)
{
	int fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);

	if (fd < 0) {
		if (errno == ENOENT)
			die("--mode hw needs /dev/kvm, which this host does not have "
			    "(no KVM support or module not loaded)");
		if (errno == EACCES || errno == EPERM)
			die("no permission to open /dev/kvm (add yourself to group 'kvm')");
		die("cannot open /dev/kvm: %s", strerror(errno));
	}
	if (ioctl(fd, KVM_GET_API_VERSION, 0) != KVM_API_VERSION)
		die("/dev/kvm speaks an unknown KVM API version");
	return fd;
}

static void need_cap(int fd, int cap, const char *name)
{
	if (ioctl(fd, KVM_CHECK_EXTENSION, cap) <= 0)
		die("this host's KVM lacks %s", name);
}

static void setup_memory(struct kvm_machine *m)
{
	struct vm *vm = m->vm;
	uint64_t mem = vm->cfg->memory;
	uint64_t low = mem < X86_LOW_RAM_MAX ? mem : X86_LOW_RAM_MAX;

	if (gmem_add_region(&vm->mem, 0, low) ||
	    (mem > low && gmem_add_region(&vm->mem, X86_HIGH_RAM_BASE, mem - low)))
		die("cannot allocate %llu MiB of guest RAM", (unsigned long long)(mem >> 20));
	for (int i = 0; i < vm->mem.nr_regions; i++) {
		const struct mem_region *r = &vm->mem.region[i];
		struct kvm_userspace_memory_region slot = {
			.slot = i,
			.guest_phys_addr = r->gpa,
			.memory_size = r->size,
			.userspace_addr = (uintptr_t)r->host,
		};
		if (ioctl(m->vm_fd, KVM_SET_USER_MEMORY_REGION, &slot) < 0)
			die("kvm: cannot map guest RAM: %s", strerror(errno));
	}
}

static void setup_vm(struct kvm_machine *m)
{
	struct kvm_pit_config pit = { .flags = KVM_PIT_SPEAKER_DUMMY };

	m->kvm_fd = kvm_open();
	need_cap(m->kvm_fd, KVM_CAP_USER_MEMORY, "user memory slots");
	need_cap(m->kvm_fd, KVM_CAP_IRQCHIP, "an in-kernel irqchip");
	need_cap(m->kvm_fd, KVM_CAP_PIT2, "an in-kernel PIT");
	need_cap(m->kvm_fd, KVM_CAP_IMMEDIATE_EXIT, "immediate_exit");
	m->run_size = ioctl(m->kvm_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (m->run_size < (int)sizeof(struct kvm_run))
		die("kvm: bad vCPU mmap size");
	m->vm_fd = ioctl(m->kvm_fd, KVM_CREATE_VM, 0);
	if (m->vm_fd < 0)
		die("kvm: cannot create a VM: %s", strerror(errno));
	/* Intel needs these three pages for real-mode emulation; they sit in
	 * the MMIO hole, out of RAM and of the device windows. */
	if (ioctl(m->vm_fd, KVM_SET_TSS_ADDR, X86_KVM_TSS_ADDR) < 0)
		die("kvm: KVM_SET_TSS_ADDR: %s", strerror(errno));
	{
		uint64_t idmap = X86_KVM_IDMAP_ADDR;
		if (ioctl(m->vm_fd, KVM_SET_IDENTITY_MAP_ADDR, &idmap) < 0)
			debug("kvm: KVM_SET_IDENTITY_MAP_ADDR: %s", strerror(errno));
	}
	if (ioctl(m->vm_fd, KVM_CREATE_IRQCHIP, 0) < 0)
		die("kvm: cannot create the in-kernel irqchip: %s", strerror(errno));
	if (ioctl(m->vm_fd, KVM_CREATE_PIT2, &pit) < 0)
		die("kvm: cannot create the in-kernel PIT: %s", strerror(errno));
	setup_memory(m);
	m->cpuid = x86_cpuid_supported(m->kvm_fd);
}

static void set_msrs(struct vcpu *c)
{
	static const struct { uint32_t index; uint64_t value; } boot_msrs[] = {
		{ 0x174, 0 },             /* IA32_SYSENTER_CS */
		{ 0x175, 0 },             /* IA32_SYSENTER_ESP */
		{ 0x176, 0 },             /* IA32_SYSENTER_EIP */
		{ 0xc0000081, 0 },        /* STAR */
		{ 0xc0000082, 0 },        /* LSTAR */
		{ 0xc0000083, 0 },        /* CSTAR */
		{ 0xc0000084, 0 },        /* SYSCALL_MASK */
		{ 0xc0000102, 0 },        /* KERNEL_GS_BASE */
		{ 0x1a0, 1 },             /* IA32_MISC_ENABLE: fast strings */
		{ 0x2ff, 0xc06 },         /* MTRRdefType: enabled, default WB */
	};
	struct {
		struct kvm_msrs hdr;
		struct kvm_msr_entry e[ARRAY_SIZE(boot_msrs)];
	} msrs;
	int n;

	memset(&msrs, 0, sizeof(msrs));
	msrs.hdr.nmsrs = ARRAY_SIZE(boot_msrs);
	for (size_t i = 0; i < ARRAY_SIZE(boot_msrs); i++) {
		msrs.e[i].index = boot_msrs[i].index;
		msrs.e[i].data = boot_msrs[i].value;
	}
	n = ioctl(c->fd, KVM_SET_MSRS, &msrs);
	if (n != (int)ARRAY_SIZE(boot_msrs))
		debug("kvm: CPU %d: only %d boot MSRs accepted", c->id, n);
}

/* The boot CPU (and, for flat test guests, every CPU) starts in 64-bit
 * mode at the entry point with Trevo's identity page tables. */
static void set_boot_state(struct kvm_machine *m, struct vcpu *c)
{
	struct kvm_sregs sregs;
	struct kvm_regs regs;
	struct kvm_fpu fpu;
	struct kvm_mp_state mp = { .mp_state = KVM_MP_STATE_RUNNABLE };

	if (ioctl(c->fd, KVM_GET_SREGS, &sregs) < 0)
		die("kvm: KVM_GET_SREGS: %s", strerror(errno));
	x86_boot_sregs(&sregs);
	if (ioctl(c->fd, KVM_SET_SREGS, &sregs) < 0)
		die("kvm: KVM_SET_SREGS: %s", strerror(errno));
	memset(&regs, 0, sizeof(regs));
	regs.rflags = 2;
	regs.rip = m->boot.entry;
	regs.rsi = m->boot.rsi;
	if (m->boot.flat) {
		/* Flat test guests: RDI = CPU index, a 16 KiB stack each below
		 * 512 KiB (tests/kvm/README.md). */
		regs.rdi = c->id;
		regs.rsp = 0x80000 - (uint64_t)c->id * 0x4000;
	}
	if (ioctl(c->fd, KVM_SET_REGS, &regs) < 0)
		die("kvm: KVM_SET_REGS: %s", strerror(errno));
	memset(&fpu, 0, sizeof(fpu));
	fpu.fcw = 0x37f;
	fpu.mxcsr = 0x1f80;
	if (ioctl(c->fd, KVM_SET_FPU, &fpu) < 0)
		debug("kvm: KVM_SET_FPU: %s", strerror(errno));
	if (c->id != 0 && ioctl(c->fd, KVM_SET_MP_STATE, &mp) < 0)
		die("kvm: KVM_SET_MP_STATE: %s", strerror(errno));
}

static void setup_vcpu(struct kvm_machine *m, int id)
{
	struct vcpu *c = &m->cpu[id];

	c->m = m;
	c->id = id;
	c->fd = ioctl(m->vm_fd, KVM_CREATE_VCPU, id);
	if (c->fd < 0)
		die("kvm: cannot create vCPU %d: %s", id, strerror(errno));
	c->run = mmap(NULL, m->run_size, PROT_READ | PROT_WRITE, MAP_SHARED, c->fd, 0);
	if (c->run == MAP_FAILED)
		die("kvm: cannot map vCPU %d: %s", id, strerror(errno));
	if (x86_cpuid_set(c->fd, m->cpuid, id, m->nr_cpus) < 0)
		die("kvm: KVM_SET_CPUID2 on vCPU %d: %s", id, strerror(errno));
	set_msrs(c);
	/* Linux starts its APs itself with INIT/SIPI through the in-kernel
	 * LAPIC: they wait in KVM's wait-for-SIPI state until then. */
	if (id == 0 || m->boot.flat)
		set_boot_state(m, c);
}

/* ioeventfd: a guest write to a virtio-mmio QueueNotify register (offset
 * 0x50, virtio 1.2 section 4.2.2) completes in the kernel and wakes the I/O
 * thread, which calls the device's write op there: the vCPU does not leave
 * the guest for a notification. The value written is the queue index, so
 * each of the first NOTIFY_QUEUES queues gets its own eventfd (datamatch);
 * a write for a higher queue still reaches the device through an MMIO exit. */
#define NOTIFY_QUEUES 4
#define VIRTIO_MMIO_QUEUE_NOTIFY 0x50

struct notify_q {
	const struct mmio_region *r;
	int fd;
	uint32_t queue;
};

static void notify_q_ready(void *opaque, uint32_t events)
{
	struct notify_q *n = opaque;
	uint64_t cnt;

	(void)events;
	if (read(n->fd, &cnt, sizeof(cnt)) != sizeof(cnt))
		return;
	n->r->ops->write(n->r->opaque, VIRTIO_MMIO_QUEUE_NOTIFY, n->queue, 4);
}

static void setup_ioeventfds(struct kvm_machine *m)
{
	struct vm *vm = m->vm;

	if (getenv("TREVO_NO_IOEVENTFD") || ioctl(m->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_IOEVENTFD) <= 0)
		return;
	for (int i = 0; i < vm->nr_desc; i++) {
		const struct dev_desc *d = &vm->desc[i];
		const struct mmio_region *r;

		if (strcmp(d->compatible, "virtio,mmio") || d->size < 0x100)
			continue;
		r = bus_find(&vm->mmio, d->base, 4);
		if (!r || !r->ops->write)
			continue;
		for (uint32_t q = 0; q < NOTIFY_QUEUES; q++) {
			struct notify_q *n = calloc(1, sizeof(*n));
			struct kvm_ioeventfd io = {
				.datamatch = q,
				.addr = d->base + VIRTIO_MMIO_QUEUE_NOTIFY,
				.len = 4,
				.flags = KVM_IOEVENTFD_FLAG_DATAMATCH,
			};
			if (!n)
				return;
			n->r = r;
			n->queue = q;
			n->fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
			io.fd = n->fd;
			if (n->fd < 0 || ioctl(m->vm_fd, KVM_IOEVENTFD, &io) < 0 ||
			    loop_add_fd(vm->loop, n->fd, EPOLLIN, notify_q_ready, n) < 0) {
				debug("kvm: no ioeventfd for %s queue %u", d->node_name, q);
				if (n->fd >= 0)
					close(n->fd);
				free(n);
			}
		}
	}
}

/* ---- the run ----------------------------------------------------------- */

static void halt_poll_round(struct kvm_machine *m, int *dead_rounds)
{
	int dead = 0;

	for (int i = 0; i < m->nr_cpus; i++) {
		struct vcpu *c = &m->cpu[i];
		if (!atomic_load(&c->poll_req) && atomic_load(&c->halted_dead))
			dead++;
		atomic_store(&c->halted_dead, 0);
		atomic_store(&c->poll_req, 1);
		kick_cpu(c);
	}
	*dead_rounds = dead == m->nr_cpus ? *dead_rounds + 1 : 0;
	/* Two rounds in a row: every vCPU sat in HLT with interrupts off for
	 * at least one poll interval. Nothing can wake it but an NMI, which
	 * nothing here sends: the guest halted the machine (Linux `halt`,
	 * `cli; hlt` in a test guest). */
	if (*dead_rounds >= 2)
		vm_request_exit(m->vm, VM_POWEROFF, 0);
}

static void wait_for_end(struct kvm_machine *m)
{
	int dead_rounds = 0;

	pthread_mutex_lock(&m->lock);
	while (!vm_should_stop(m->vm)) {
		struct timespec ts;
		clock_gettime(CLOCK_MONOTONIC, &ts);
		ts.tv_nsec += HALT_POLL_NS;
		if (ts.tv_nsec >= 1000000000L) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000L;
		}
		if (pthread_cond_timedwait(&m->cond, &m->lock, &ts) == ETIMEDOUT &&
		    !vm_should_stop(m->vm)) {
			pthread_mutex_unlock(&m->lock);
			halt_poll_round(m, &dead_rounds);
			pthread_mutex_lock(&m->lock);
		}
	}
	pthread_mutex_unlock(&m->lock);
}

int x86_machine_run(struct vm *vm)
{
	struct kvm_machine *m = calloc(1, sizeof(*m));
	const struct vm_config *cfg = vm->cfg;
	struct sigaction sa;
	pthread_condattr_t ca;
	sigset_t set;
	int status;

	if (!m)
		die("out of memory");
	m->vm = vm;
	m->nr_cpus = cfg->cpus;
	if (m->nr_cpus < 1 || m->nr_cpus > X86_MAX_CPUS)
		die("--cpus %d: --mode hw runs 1 to %d vCPUs", m->nr_cpus, X86_MAX_CPUS);
	m->report_first_exit = getenv("TREVO_FIRST_EXIT") != NULL;
	pthread_mutex_init(&m->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&m->cond, &ca);
	vm->arch = m;
	for (unsigned i = 0; i < X86_NR_GSI; i++)
		m->irq[i] = (struct irq_route){ .m = m, .gsi = i, .fd = -1, .resample_fd = -1 };

	/* The kick signal stays blocked everywhere but in the vCPU threads,
	 * so that the I/O thread and the main thread never see it. */
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = kick_handler;
	sigaction(KICK_SIGNAL, &sa, NULL);
	sigemptyset(&set);
	sigaddset(&set, KICK_SIGNAL);
	pthread_sigmask(SIG_BLOCK, &set, NULL);

	setup_vm(m);
	vm->set_irq = kvm_set_irq;
	vm->irq_ctx = m;
	vm->kick = machine_kick;
	vm->mmio_alloc_next = X86_MMIO_WIN_BASE;
	vm->mmio_alloc_end = X86_MMIO_WIN_END;
	/* virtio-mmio interrupts: ISA IRQs 5-15, which Linux maps at boot and
	 * which this machine leaves free (no i8042, no CMOS RTC, no IDE; the
	 * HW-reduced ACPI SCI is never raised). acpi.c makes them level. */
	vm->irq_alloc_next = 5;
	vm->irq_alloc_end = 16;

	add_system_ports(vm);
	if (vm_create_device(vm, "ns16550a", &(struct dev_params){ .port = 0x3f8, .irq = 4 }))
		warn("kvm: no serial port: the guest console is missing");
	if (vm_create_user_devices(vm))
		exit(EXIT_USAGE);
	/* pvpanic: Linux's pvpanic-mmio driver (found through ACPI "QEMU0001")
	 * writes here when the guest kernel panics; trevo then exits 1. */
	if (device_model_find("pvpanic-mmio")) {
		uint64_t base;
		if (vm_alloc_mmio(vm, 0x1000, &base) ||
		    vm_create_device(vm, "pvpanic-mmio", &(struct dev_params){ .base = base, .irq = -1 }))
			warn("kvm: no pvpanic device");
	}

	x86_boot_load(vm, m->nr_cpus, &m->boot);
	for (int i = 0; i < m->nr_cpus; i++)
		setup_vcpu(m, i);
	setup_ioeventfds(m);
	setup_irqfds(m);

	if (loop_start(vm->loop))
		die("cannot start the I/O thread");
	for (int i = 0; i < m->nr_cpus; i++) {
		struct vcpu *c = &m->cpu[i];
		if (pthread_create(&c->thread, NULL, vcpu_thread, c))
			die("cannot start vCPU thread %d", i);
		c->started = true;
	}
	wait_for_end(m);
	machine_kick(vm);
	for (int i = 0; i < m->nr_cpus; i++)
		pthread_join(m->cpu[i].thread, NULL);
	loop_stop(vm->loop);
	console_destroy(vm->console);

	switch (atomic_load(&vm->exit_reason)) {
	case VM_FAIL:
		status = atomic_load(&vm->exit_code);
		if (status == 0)
			status = 1;
		break;
	default:
		status = 0;  /* poweroff, reboot, Ctrl-A X */
	}
	debug("kvm: guest ended (reason %d, status %d)", atomic_load(&vm->exit_reason), status);
	return status;
}
