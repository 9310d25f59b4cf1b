/* The "kvm" engine against its contract (engine.h), without the controller:
 * a struct vm with guest RAM and the KVM VM, the engine created directly.
 * set_vcpu(get_vcpu()) gives back the identical state; a tiny guest that
 * counts in guest RAM advances when started, stands still while paused,
 * advances again when resumed; reset puts every vCPU back to its power-on
 * state (the AP waiting for SIPI). */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "engine.h"
#include "stats.h"
#include "vm.h"
#include "x86/vcpu.h"
#include "x86/x86.h"

#define CHECK_PREFIX "kvm-engine-"
#include "check.h"

#define COUNTER_GPA 0x200000ULL
#define CODE_GPA    X86_KERNEL_ADDR

/* 1: inc qword [COUNTER_GPA]; jmp 1b */
static const uint8_t count_loop[] = {
	0x48, 0xff, 0x04, 0x25, 0x00, 0x00, 0x20, 0x00,
	0xeb, 0xf6,
};

static uint64_t counter(struct vm *vm)
{
	uint64_t v = 0;

	gmem_read64(&vm->mem, COUNTER_GPA, &v);
	return v;
}

static void sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
	nanosleep(&ts, NULL);
}

/* Wait up to 5 s (this machine's KVM is slow) for the counter to pass v. */
static bool advances_past(struct vm *vm, uint64_t v)
{
	for (int i = 0; i < 500; i++) {
		if (counter(vm) > v)
			return true;
		sleep_ms(10);
	}
	return false;
}

/* Name the parts of two states that differ, to make a failure readable. */
static void report_diff(const char *what, const struct x86_vcpu_state *a, const struct x86_vcpu_state *b)
{
#define PART(f) if (memcmp(&a->f, &b->f, sizeof(a->f))) printf("  %s: %s differs\n", what, #f)
	PART(regs); PART(sregs); PART(fpu); PART(lapic); PART(mp); PART(events);
	PART(debugregs); PART(xcrs); PART(flags); PART(nr_msrs); PART(tsc_offset); PART(msrs);
#undef PART
	for (size_t i = 0; i < sizeof(a->fpu); i++)
		if (((const uint8_t *)&a->fpu)[i] != ((const uint8_t *)&b->fpu)[i])
			printf("  %s: fpu byte %zu: %#x vs %#x\n", what, i, ((const uint8_t *)&a->fpu)[i],
			       ((const uint8_t *)&b->fpu)[i]);
	for (uint32_t i = 0; i < a->nr_msrs && i < X86_STATE_MAX_MSRS; i++)
		if (memcmp(&a->msrs[i], &b->msrs[i], sizeof(a->msrs[i])))
			printf("  %s: MSR %#x: %#llx vs %#llx\n", what, a->msrs[i].index,
			       (unsigned long long)a->msrs[i].data, (unsigned long long)b->msrs[i].data);
}

static bool same_state(const char *what, const struct vcpu_state *a, const struct vcpu_state *b)
{
	if (!memcmp(a, b, sizeof(*a)))
		return true;
	report_diff(what, &a->x86, &b->x86);
	return false;
}

/* get_vcpu through the ioctls, not the engine's copy of a state it knows
 * exactly (before start and after reset: vcpu.h, known_state). */
static int get_from_kvm(struct vm *vm, int cpu, struct vcpu_state *s)
{
	struct kvm_engine *e = vm->engine_state;
	bool known = e->known_valid;
	int err;

	e->known_valid = false;
	err = vm->engine->get_vcpu(vm, cpu, s);
	e->known_valid = known;
	return err;
}

static struct kvm_msr_entry *msr(struct x86_vcpu_state *s, uint32_t index)
{
	for (uint32_t i = 0; i < s->nr_msrs; i++)
		if (s->msrs[i].index == index)
			return &s->msrs[i];
	return NULL;
}

/* 1: in al, 0x80; inc qword [COUNTER_GPA]; jmp 1b: a port exit each
 * round, so that pauses land between an exit and its completion. */
static const uint8_t exit_loop[] = {
	0xe4, 0x80,
	0x48, 0xff, 0x04, 0x25, 0x00, 0x00, 0x20, 0x00,
	0xeb, 0xf4,
};
#define EXIT_LOOP_GPA (CODE_GPA + 0x100)

static int nr_counters;
static bool saw_exits;
static uint64_t io_exits;
static void count_put(void *ctx, const char *name, uint64_t value)
{
	(void)ctx;
	nr_counters++;
	if (!strcmp(name, "exits"))
		saw_exits = true;
	if (!strcmp(name, "exits_io"))
		io_exits = value;
}

/* A state unlike the power-on one in every part the guest can set. */
static void make_boot_state(struct vcpu_state *s, int cpu)
{
	struct x86_vcpu_state *x = &s->x86;
	struct kvm_msr_entry *e;

	x86_boot_sregs(&x->sregs);
	memset(&x->regs, 0, sizeof(x->regs));
	x->regs.rflags = 2;
	x->regs.rip = CODE_GPA;
	x->regs.rsp = 0x80000 - (uint64_t)cpu * 0x4000;
	x->regs.rax = 0x1111111111111111ULL;
	x->regs.r15 = 0xf0f0f0f0f0f0f0f0ULL;
	x->fpu.fcw = 0x37f;
	x->fpu.mxcsr = 0x1f80;
	for (int i = 0; i < 16; i++)
		x->fpu.xmm[i][0] = (uint8_t)(0x40 + i);
	x->mp.mp_state = KVM_MP_STATE_RUNNABLE;
	if ((e = msr(x, 0xc0000082)))
		e->data = 0xffffffff81000000ULL;  /* LSTAR */
	if ((e = msr(x, 0xc0000081)))
		e->data = 0x0023001000000000ULL;  /* STAR */
	if ((e = msr(x, 0xc0000102)))
		e->data = 0xffff888000000000ULL;  /* KERNEL_GS_BASE */
	if ((e = msr(x, 0x277)))
		e->data = 0x0007040600070406ULL;  /* PAT */
}

int main(void)
{
	static struct vm vm;
	struct vm_config cfg = { .engine = "kvm", .memory = 16 * MiB, .cpus = 2 };
	const struct engine_ops *eng = engine_find("kvm");
	static struct vcpu_state power_on[2], s, t, u;
	struct stats_sink sink = { count_put, NULL };
	char path[] = "/tmp/trevo-kvm-engine-XXXXXX";
	struct x86_boot boot;
	int fd, err;
	uint64_t c1, c2;

	fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		printf("SKIP kvm-engine: no /dev/kvm\n");
		return 0;
	}
	close(fd);
	if (!eng) {
		printf("FAIL kvm-engine-registered: no engine named kvm\n");
		return 1;
	}
	CHECK("arch", eng->arch == VCPU_ARCH_X86_64);

	vm.cfg = &cfg;
	vm.devices_tail = &vm.devices;
	pthread_mutex_init(&vm.ctl_lock, NULL);
	pthread_cond_init(&vm.ctl_cond, NULL);
	vm.engine = eng;
	if (x86_ram_create(&vm) || x86_kvm_create(&vm)) {
		printf("FAIL kvm-engine-vm: cannot build the KVM VM\n");
		return 1;
	}
	err = eng->create(&vm);
	CHECK("create", err == 0);
	if (err)
		return 1;

	/* The flat-guest loader puts page tables, GDT and the code in RAM. */
	fd = mkstemp(path);
	if (fd < 0 || write(fd, count_loop, sizeof(count_loop)) != (ssize_t)sizeof(count_loop))
		abort();
	close(fd);
	cfg.kernel = path;
	x86_boot_load(&vm, cfg.cpus, &boot);
	unlink(path);
	CHECK("flat-load", boot.flat && boot.entry == CODE_GPA);

	for (int i = 0; i < 2; i++)
		CHECK("get-power-on", eng->get_vcpu(&vm, i, &power_on[i]) == 0 &&
					      power_on[i].arch == VCPU_ARCH_X86_64);
	CHECK("power-on-ap-waits-for-sipi",
	      power_on[1].x86.mp.mp_state == KVM_MP_STATE_UNINITIALIZED &&
	      power_on[0].x86.mp.mp_state == KVM_MP_STATE_RUNNABLE);
	CHECK("power-on-reset-vector", power_on[0].x86.regs.rip == 0xfff0 &&
					       power_on[0].x86.sregs.cs.base == 0xffff0000);

	/* set(get()) is an identity, for the power-on state and for one that
	 * differs from it everywhere the guest could have changed it. */
	CHECK("set-get-power-on", eng->set_vcpu(&vm, 0, &power_on[0]) == 0 &&
					  get_from_kvm(&vm, 0, &t) == 0 &&
					  same_state("power-on", &power_on[0], &t));
	s = power_on[0];
	make_boot_state(&s, 0);
	CHECK("set-get-boot-state", eng->set_vcpu(&vm, 0, &s) == 0 && get_from_kvm(&vm, 0, &t) == 0 &&
					    same_state("boot", &s, &t));
	CHECK("set-get-again", eng->set_vcpu(&vm, 0, &t) == 0 && get_from_kvm(&vm, 0, &u) == 0 &&
				       same_state("again", &t, &u));
	s = power_on[1];
	make_boot_state(&s, 1);
	CHECK("set-get-ap", eng->set_vcpu(&vm, 1, &s) == 0 && get_from_kvm(&vm, 1, &t) == 0 &&
				    same_state("ap", &s, &t));
	s.version = 99;
	CHECK("set-bad-version", eng->set_vcpu(&vm, 0, &s) == -EINVAL);
	CHECK("get-bad-cpu", eng->get_vcpu(&vm, 2, &t) == -EINVAL);

	/* Run, pause, resume. */
	CHECK("thread-id-before-start", eng->vcpu_thread_id(&vm, 0) == 0);
	CHECK("start", eng->start(&vm) == 0);
	CHECK("counter-advances", advances_past(&vm, 0));
	/* Each thread tells its id once it runs. */
	for (int i = 0; i < 500 && !(eng->vcpu_thread_id(&vm, 0) && eng->vcpu_thread_id(&vm, 1)); i++)
		sleep_ms(10);
	CHECK("thread-ids", eng->vcpu_thread_id(&vm, 0) > 0 && eng->vcpu_thread_id(&vm, 1) > 0 &&
				    eng->vcpu_thread_id(&vm, 0) != eng->vcpu_thread_id(&vm, 1) &&
				    eng->vcpu_thread_id(&vm, 0) != getpid());
	eng->pause(&vm);
	c1 = counter(&vm);
	sleep_ms(200);
	c2 = counter(&vm);
	CHECK("pause-stands-still", c1 == c2 && c1 > 0);
	eng->pause(&vm);  /* idempotent */
	CHECK("paused-state-readable", eng->get_vcpu(&vm, 0, &t) == 0 &&
					       t.x86.regs.rip >= CODE_GPA &&
					       t.x86.regs.rip < CODE_GPA + sizeof(count_loop));
	/* A paused vCPU's state round-trips too, mid-loop. */
	CHECK("set-get-paused", eng->set_vcpu(&vm, 0, &t) == 0 && eng->get_vcpu(&vm, 0, &u) == 0 &&
					same_state("paused", &t, &u));
	/* While paused the engine knows nothing in advance: every set and
	 * get goes to KVM. The power-on and a boot state, then back. */
	CHECK("paused-not-known", !((struct kvm_engine *)vm.engine_state)->known_valid);
	CHECK("paused-set-get-power-on", eng->set_vcpu(&vm, 0, &power_on[0]) == 0 &&
						 eng->get_vcpu(&vm, 0, &u) == 0 &&
						 same_state("paused-power-on", &power_on[0], &u));
	s = power_on[0];
	make_boot_state(&s, 0);
	CHECK("paused-set-get-boot", eng->set_vcpu(&vm, 0, &s) == 0 && eng->get_vcpu(&vm, 0, &u) == 0 &&
					     same_state("paused-boot", &s, &u));
	CHECK("paused-set-back", eng->set_vcpu(&vm, 0, &t) == 0 && eng->get_vcpu(&vm, 0, &u) == 0 &&
					 same_state("paused-back", &t, &u));
	eng->resume(&vm);
	CHECK("resume-advances", advances_past(&vm, c2));
	eng->kick(&vm);
	CHECK("kick-keeps-running", advances_past(&vm, counter(&vm)));

	eng->vcpu_stats(&vm, 0, &sink);
	CHECK("stats", saw_exits && nr_counters > 3);

	/* Reset: back to the power-on state, the AP waiting for SIPI. */
	eng->pause(&vm);
	eng->reset(&vm);
	CHECK("reset-bsp", get_from_kvm(&vm, 0, &t) == 0 && same_state("reset-bsp", &power_on[0], &t));
	CHECK("reset-ap", get_from_kvm(&vm, 1, &t) == 0 && same_state("reset-ap", &power_on[1], &t) &&
				  t.x86.mp.mp_state == KVM_MP_STATE_UNINITIALIZED);
	/* And it runs again from a new boot state. */
	s = power_on[0];
	make_boot_state(&s, 0);
	c1 = counter(&vm);
	CHECK("reset-then-run", eng->set_vcpu(&vm, 0, &s) == 0 && get_from_kvm(&vm, 0, &t) == 0 &&
					same_state("reset-then-run", &s, &t));
	eng->resume(&vm);
	CHECK("reset-then-run-advances", advances_past(&vm, c1));

	/* The same with a port exit in every round. */
	eng->pause(&vm);
	CHECK("exit-loop-load", gmem_write(&vm.mem, EXIT_LOOP_GPA, exit_loop, sizeof(exit_loop)) == 0 &&
					eng->get_vcpu(&vm, 0, &t) == 0);
	t.x86.regs.rip = EXIT_LOOP_GPA;
	c1 = counter(&vm);
	CHECK("exit-loop-set", eng->set_vcpu(&vm, 0, &t) == 0);
	eng->resume(&vm);
	CHECK("exit-loop-advances", advances_past(&vm, c1 + 100));
	for (int round = 0; round < 5; round++) {
		bool still, rip_ok;
		eng->pause(&vm);
		c1 = counter(&vm);
		sleep_ms(50);
		still = counter(&vm) == c1;
		rip_ok = eng->get_vcpu(&vm, 0, &t) == 0 && t.x86.regs.rip >= EXIT_LOOP_GPA &&
			 t.x86.regs.rip < EXIT_LOOP_GPA + sizeof(exit_loop);
		eng->resume(&vm);
		CHECK("exit-loop-pause", still && rip_ok && advances_past(&vm, c1));
	}
	eng->vcpu_stats(&vm, 0, &sink);
	CHECK("exit-loop-io-exits", io_exits > 100);

	eng->pause(&vm);
	eng->destroy(&vm);
	CHECK("destroy", vm.engine_state == NULL);
	x86_kvm_destroy(&vm);
	while (vm.blobs) {
		struct vm_blob *next = vm.blobs->next;
		free(vm.blobs->data);
		free(vm.blobs);
		vm.blobs = next;
	}
	gmem_free(&vm.mem);
	return failures ? 1 : 0;
}
