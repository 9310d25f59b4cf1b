/* The "kvm" CPU engine (engine.h): x86-64 vCPUs on Linux KVM, one host
 * thread each (vcpu.c), behind the engine ops that vm.c drives: create with
 * the power-on state captured, start, kick, pause/resume with every vCPU
 * parked at an instruction boundary, reset to the captured state, the
 * architectural state as plain data (state.h), counters, destroy.
 * Documentation/virt/kvm/api.rst is the reference for every ioctl here. */
#include "vcpu.h"

#include "../engine.h"
#include "../host/loop.h"
#include "../stats.h"
#include "../host/seccomp.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#define HALT_POLL_NS (100 * 1000 * 1000LL)

#define MSR_IA32_TSC            0x10
#define MSR_IA32_MISC_ENABLE    0x1a0
#define MSR_MTRR_DEF_TYPE       0x2ff

/* The MSRs a vCPU state carries, beyond those in sregs (EFER, APIC base,
 * FS/GS base): the ones an OS sets up and expects to find again. Only
 * those this host's KVM lets the vCPU read and write are kept. */
static const uint32_t state_msrs[] = {
	MSR_IA32_TSC,
	0x3b,                   /* IA32_TSC_ADJUST */
	0x174, 0x175, 0x176,    /* IA32_SYSENTER_CS/ESP/EIP */
	0xc0000081,             /* STAR */
	0xc0000082,             /* LSTAR */
	0xc0000083,             /* CSTAR */
	0xc0000084,             /* SFMASK */
	0xc0000102,             /* KERNEL_GS_BASE */
	0xc0000103,             /* TSC_AUX */
	MSR_IA32_MISC_ENABLE,
	0x277,                  /* IA32_PAT */
	MSR_MTRR_DEF_TYPE,
	0x6e0,                  /* IA32_TSC_DEADLINE */
	0x4b564d00,             /* MSR_KVM_WALL_CLOCK_NEW */
	0x4b564d01,             /* MSR_KVM_SYSTEM_TIME_NEW */
	0x4b564d02,             /* MSR_KVM_ASYNC_PF_EN */
	0x4b564d03,             /* MSR_KVM_STEAL_TIME */
	0x4b564d04,             /* MSR_KVM_PV_EOI_EN */
	0x4b564d06,             /* MSR_KVM_ASYNC_PF_INT */
	0x4b564d07,             /* MSR_KVM_POLL_CONTROL */
};
_Static_assert(ARRAY_SIZE(state_msrs) <= X86_STATE_MAX_MSRS, "state.h holds every MSR");

/* What a vCPU gets at creation besides KVM's defaults. */
static const struct { uint32_t index; uint64_t value; } boot_msrs[] = {
	{ MSR_IA32_MISC_ENABLE, 1 },   /* fast strings */
	{ MSR_MTRR_DEF_TYPE, 0xc06 },  /* MTRRs enabled, default WB */
};

struct msr_buf {
	struct kvm_msrs hdr;
	struct kvm_msr_entry e[X86_STATE_MAX_MSRS];
};

static struct kvm_engine *engine_of(struct vm *vm)
{
	return vm->engine_state;
}

/* ---- vCPU state ------------------------------------------------------- */

static int vcpu_ioctl(struct x86_vcpu *c, unsigned long req, void *arg, const char *name)
{
	if (ioctl(c->fd, req, arg) < 0) {
		int err = -errno;
		warn("kvm: %s on CPU %d: %s", name, c->id, strerror(errno));
		return err;
	}
	return 0;
}
#define VCPU_IOCTL(c, req, arg) vcpu_ioctl(c, req, arg, #req)

static int tsc_offset_attr(struct x86_vcpu *c, uint64_t *offset, bool set)
{
	struct kvm_device_attr a = {
		.group = KVM_VCPU_TSC_CTRL,
		.attr = KVM_VCPU_TSC_OFFSET,
		.addr = (uintptr_t)offset,
	};
	return set ? VCPU_IOCTL(c, KVM_SET_DEVICE_ATTR, &a) : VCPU_IOCTL(c, KVM_GET_DEVICE_ATTR, &a);
}

/* KVM_GET_FPU and KVM_SET_FPU leave MXCSR out (KVM's x86.c copies every
 * field of struct kvm_fpu but that one); it is at byte 24 of the legacy
 * XSAVE region (SDM vol. 1, 10.5.1 "FXSAVE Area"), so it goes through
 * KVM_GET/SET_XSAVE, where KVM has them. Without them it stays out of the
 * state (reads 0, ignored when set): still an identity. */
static int fpu_mxcsr(struct kvm_engine *e, struct x86_vcpu *c, uint32_t *mxcsr, bool set)
{
	struct kvm_xsave xs;
	int err;

	if (!e->have_xsave) {
		if (!set)
			*mxcsr = 0;
		return 0;
	}
	if ((err = VCPU_IOCTL(c, KVM_GET_XSAVE, &xs)))
		return err;
	if (!set) {
		*mxcsr = xs.region[6];
		return 0;
	}
	if (xs.region[6] == *mxcsr)
		return 0;
	xs.region[6] = *mxcsr;
	return VCPU_IOCTL(c, KVM_SET_XSAVE, &xs);
}

static int get_state(struct kvm_engine *e, struct x86_vcpu *c, struct x86_vcpu_state *s)
{
	struct msr_buf msrs;
	int err, n;

	memset(s, 0, sizeof(*s));
	/* KVM_GET_MP_STATE first: it takes pending INIT/SIPI events into
	 * the vCPU, which changes the registers read after it. */
	if ((err = VCPU_IOCTL(c, KVM_GET_MP_STATE, &s->mp)) ||
	    (err = VCPU_IOCTL(c, KVM_GET_REGS, &s->regs)) ||
	    (err = VCPU_IOCTL(c, KVM_GET_SREGS, &s->sregs)) ||
	    (err = VCPU_IOCTL(c, KVM_GET_FPU, &s->fpu)) ||
	    (err = fpu_mxcsr(e, c, &s->fpu.mxcsr, false)) ||
	    (err = VCPU_IOCTL(c, KVM_GET_LAPIC, &s->lapic)) ||
	    (err = VCPU_IOCTL(c, KVM_GET_VCPU_EVENTS, &s->events)))
		return err;
	if (e->have_debugregs && (err = VCPU_IOCTL(c, KVM_GET_DEBUGREGS, &s->debugregs)))
		return err;
	if (e->have_xcrs && (err = VCPU_IOCTL(c, KVM_GET_XCRS, &s->xcrs)))
		return err;
	if (e->tsc_offset_attr) {
		if ((err = tsc_offset_attr(c, &s->tsc_offset, false)))
			return err;
		s->flags |= X86_STATE_TSC_OFFSET;
	}
	memset(&msrs, 0, sizeof(msrs));
	msrs.hdr.nmsrs = e->nr_msrs;
	for (uint32_t i = 0; i < e->nr_msrs; i++)
		msrs.e[i].index = e->msr_index[i];
	/* KVM_GET_MSRS returns how many it read, stopping at a failure. */
	n = ioctl(c->fd, KVM_GET_MSRS, &msrs);
	if (n != (int)e->nr_msrs) {
		warn("kvm: KVM_GET_MSRS on CPU %d: %d of %u read", c->id, n, e->nr_msrs);
		return n < 0 ? -errno : -EIO;
	}
	s->nr_msrs = e->nr_msrs;
	memcpy(s->msrs, msrs.e, e->nr_msrs * sizeof(msrs.e[0]));
	return 0;
}

/* The order matters (api.rst and KVM's x86.c): KVM_SET_SREGS sets the
 * APIC base, which may enable or reset the LAPIC, so the LAPIC comes
 * after it; KVM_SET_REGS drops a pending exception, so the events come
 * after it; the TSC deadline MSR only takes while the LAPIC timer is in
 * TSC-deadline mode, so the MSRs come after the LAPIC; KVM_SET_MP_STATE
 * refuses INIT/SIPI states while an INIT is latched, which the events
 * (smi.latched_init) may set, so the events come last.
 *
 * cur, when not NULL, is the vCPU's exact state now (see known_state):
 * parts equal to it are not written, unless a part written before them
 * may have changed them (the LAPIC after an APIC base change, the MSRs
 * after the LAPIC, the events after anything). */
static int set_state(struct kvm_engine *e, struct x86_vcpu *c, const struct x86_vcpu_state *s,
		     const struct x86_vcpu_state *cur)
{
	struct msr_buf msrs;
	struct kvm_sregs sregs = s->sregs;
	struct kvm_regs regs = s->regs;
	struct kvm_fpu fpu = s->fpu;
	struct kvm_lapic_state lapic = s->lapic;
	struct kvm_mp_state mp = s->mp;
	struct kvm_vcpu_events events = s->events;
	struct kvm_debugregs dbg = s->debugregs;
	struct kvm_xcrs xcrs = s->xcrs;
	uint64_t tsc_offset = s->tsc_offset;
	bool wrote = false, lapic_changed;
	int err, n;

#define CHANGED(f) (!cur || memcmp(&cur->f, &s->f, sizeof(s->f)))
	if (s->nr_msrs > X86_STATE_MAX_MSRS)
		return -EINVAL;
	if (CHANGED(sregs)) {
		if ((err = VCPU_IOCTL(c, KVM_SET_SREGS, &sregs)))
			return err;
		wrote = true;
	}
	if (CHANGED(regs)) {
		if ((err = VCPU_IOCTL(c, KVM_SET_REGS, &regs)))
			return err;
		wrote = true;
	}
	if (CHANGED(fpu)) {
		if ((err = VCPU_IOCTL(c, KVM_SET_FPU, &fpu)) || (err = fpu_mxcsr(e, c, &fpu.mxcsr, true)))
			return err;
		wrote = true;
	}
	/* No XSAVE on the host: KVM reports no XCRs and refuses to set any. */
	if (e->have_xcrs && xcrs.nr_xcrs && CHANGED(xcrs)) {
		if ((err = VCPU_IOCTL(c, KVM_SET_XCRS, &xcrs)))
			return err;
		wrote = true;
	}
	if (e->have_debugregs && CHANGED(debugregs)) {
		if ((err = VCPU_IOCTL(c, KVM_SET_DEBUGREGS, &dbg)))
			return err;
		wrote = true;
	}
	if (CHANGED(mp)) {
		if ((err = VCPU_IOCTL(c, KVM_SET_MP_STATE, &mp)))
			return err;
		wrote = true;
	}
	lapic_changed = CHANGED(lapic) || cur->sregs.apic_base != s->sregs.apic_base;
	if (lapic_changed) {
		if ((err = VCPU_IOCTL(c, KVM_SET_LAPIC, &lapic)))
			return err;
		wrote = true;
	}
	if (lapic_changed || CHANGED(nr_msrs) || CHANGED(msrs)) {
		memset(&msrs, 0, sizeof(msrs));
		msrs.hdr.nmsrs = s->nr_msrs;
		memcpy(msrs.e, s->msrs, s->nr_msrs * sizeof(msrs.e[0]));
		n = ioctl(c->fd, KVM_SET_MSRS, &msrs);
		if (n != (int)s->nr_msrs) {
			warn("kvm: KVM_SET_MSRS on CPU %d: %d of %u written", c->id, n, s->nr_msrs);
			return n < 0 ? -errno : -EIO;
		}
		wrote = true;
	}
	if ((s->flags & X86_STATE_TSC_OFFSET) && e->tsc_offset_attr &&
	    (CHANGED(tsc_offset) || CHANGED(flags))) {
		if ((err = tsc_offset_attr(c, &tsc_offset, true)))
			return err;
		wrote = true;
	}
	if (wrote || CHANGED(events))
		return VCPU_IOCTL(c, KVM_SET_VCPU_EVENTS, &events);
	return 0;
#undef CHANGED
}

/* Which of state_msrs this host's KVM keeps for the vCPU: those in
 * KVM_GET_MSR_INDEX_LIST (MSRs to save and the ones KVM emulates), plus
 * the MTRR default type that KVM handles without listing it; then one
 * KVM_GET_MSRS, which stops at the first MSR it cannot read (api.rst), to
 * drop what this vCPU's CPUID does not offer. A few ioctls, not one per
 * MSR: each costs tens of microseconds where KVM is nested. */
static void pick_msrs(struct kvm_engine *e, struct x86_vcpu *c)
{
	struct {
		struct kvm_msr_list hdr;
		uint32_t index[1024];
	} list;
	struct msr_buf msrs;
	bool have_list;
	int n;

	memset(&list, 0, sizeof(list));
	list.hdr.nmsrs = ARRAY_SIZE(list.index);
	have_list = ioctl(e->m->kvm_fd, KVM_GET_MSR_INDEX_LIST, &list) == 0;
	e->nr_msrs = 0;
	for (size_t i = 0; i < ARRAY_SIZE(state_msrs); i++) {
		bool listed = !have_list || state_msrs[i] == MSR_MTRR_DEF_TYPE;

		/* The offset stands in for the TSC (state.h). */
		if (state_msrs[i] == MSR_IA32_TSC && e->tsc_offset_attr)
			continue;
		for (uint32_t j = 0; !listed && j < list.hdr.nmsrs && j < ARRAY_SIZE(list.index); j++)
			listed = list.index[j] == state_msrs[i];
		if (listed)
			e->msr_index[e->nr_msrs++] = state_msrs[i];
		else
			debug("kvm: MSR %#x not offered by this KVM", state_msrs[i]);
	}
	for (;;) {
		memset(&msrs, 0, sizeof(msrs));
		msrs.hdr.nmsrs = e->nr_msrs;
		for (uint32_t i = 0; i < e->nr_msrs; i++)
			msrs.e[i].index = e->msr_index[i];
		n = ioctl(c->fd, KVM_GET_MSRS, &msrs);
		if (n < 0 || n >= (int)e->nr_msrs)
			break;
		debug("kvm: MSR %#x not kept in the vCPU state", e->msr_index[n]);
		memmove(&e->msr_index[n], &e->msr_index[n + 1],
			(e->nr_msrs - n - 1) * sizeof(e->msr_index[0]));
		e->nr_msrs--;
	}
}

static void set_boot_msrs(struct x86_vcpu *c)
{
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

/* ---- KVM's own counters (KVM_GET_STATS_FD, api.rst "KVM_GET_STATS_FD") */

/* Reads the descriptors once (every vCPU has the same). Only plain
 * counters of one value are kept. */
static void kstats_read_descs(struct kvm_engine *e, int fd)
{
	struct kvm_stats_info *ki = &e->kstats;
	struct kvm_stats_header h;
	size_t dsize;
	uint8_t *descs;

	if (ki->stat || pread(fd, &h, sizeof(h), 0) != sizeof(h) || h.num_desc > 4096 ||
	    h.name_size > 256)
		return;
	dsize = sizeof(struct kvm_stats_desc) + h.name_size;
	descs = malloc(dsize * h.num_desc);
	ki->stat = calloc(h.num_desc ? h.num_desc : 1, sizeof(*ki->stat));
	if (!descs || !ki->stat ||
	    pread(fd, descs, dsize * h.num_desc, h.desc_offset) != (ssize_t)(dsize * h.num_desc)) {
		free(descs);
		free(ki->stat);
		ki->stat = NULL;
		return;
	}
	for (uint32_t i = 0; i < h.num_desc; i++) {
		const struct kvm_stats_desc *d = (const void *)(descs + i * dsize);
		struct kvm_stat *s = &ki->stat[ki->nr];

		if (d->size != 1 || (d->flags & KVM_STATS_TYPE_MASK) > KVM_STATS_TYPE_PEAK)
			continue;
		snprintf(s->name, sizeof(s->name), "kvm_%.*s", (int)h.name_size, d->name);
		s->offset = d->offset / 8;
		if (s->offset + 1 > ki->data_words)
			ki->data_words = s->offset + 1;
		ki->nr++;
	}
	ki->data_offset = h.data_offset;
	free(descs);
}

/* ---- the engine ops ------------------------------------------------------ */

static int create_vcpu(struct kvm_engine *e, int id)
{
	struct x86_machine *m = e->m;
	struct x86_vcpu *c = &e->cpu[id];
	int err;

	c->e = e;
	c->id = id;
	c->stats_fd = -1;
	c->fd = ioctl(m->vm_fd, KVM_CREATE_VCPU, id);
	if (c->fd < 0) {
		err = -errno;
		warn("kvm: cannot create vCPU %d: %s", id, strerror(errno));
		return err;
	}
	c->run = mmap(NULL, m->run_size, PROT_READ | PROT_WRITE, MAP_SHARED, c->fd, 0);
	if (c->run == MAP_FAILED) {
		err = -errno;
		c->run = NULL;
		warn("kvm: cannot map vCPU %d: %s", id, strerror(errno));
		return err;
	}
	if ((err = x86_cpuid_set(c->fd, m->cpuid, id, e->nr_cpus))) {
		warn("kvm: KVM_SET_CPUID2 on vCPU %d: %s", id, strerror(-err));
		return err;
	}
	set_boot_msrs(c);
	if (ioctl(m->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_BINARY_STATS_FD) > 0) {
		c->stats_fd = ioctl(c->fd, KVM_GET_STATS_FD, NULL);
		if (c->stats_fd >= 0)
			kstats_read_descs(e, c->stats_fd);
	}
	return 0;
}

static void kvm_destroy(struct vm *vm);

/* vCPUs with CPUID and MSRs, then their power-on state (KVM's reset
 * state: the BSP runnable at the reset vector, the APs waiting for SIPI)
 * and the irqchip and PIT, all kept for reset. */
static int kvm_create(struct vm *vm)
{
	struct x86_machine *m = x86_machine(vm);
	struct kvm_engine *e;
	pthread_condattr_t ca;
	int err;

	if (!m)
		return -EINVAL;
	if (vm->cfg->cpus < 1 || vm->cfg->cpus > X86_MAX_CPUS) {
		warn("kvm: --cpus %d: --mode hw runs 1 to %d vCPUs", vm->cfg->cpus, X86_MAX_CPUS);
		return -EINVAL;
	}
	e = calloc(1, sizeof(*e));
	if (!e)
		return -ENOMEM;
	e->vm = vm;
	e->m = m;
	e->nr_cpus = vm->cfg->cpus;
	e->report_first_exit = getenv("TREVO_FIRST_EXIT") != NULL;
	pthread_mutex_init(&e->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&e->cond, &ca);
	pthread_condattr_destroy(&ca);
	for (int i = 0; i < X86_MAX_CPUS; i++)
		e->cpu[i].fd = e->cpu[i].stats_fd = -1;
	vm->engine_state = e;
	x86_kick_init();

	for (int i = 0; i < e->nr_cpus; i++)
		if ((err = create_vcpu(e, i)))
			goto fail;
	{
		struct kvm_device_attr a = { .group = KVM_VCPU_TSC_CTRL, .attr = KVM_VCPU_TSC_OFFSET };
		e->tsc_offset_attr = ioctl(e->cpu[0].fd, KVM_HAS_DEVICE_ATTR, &a) == 0;
	}
	e->have_xcrs = ioctl(m->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_XCRS) > 0;
	e->have_debugregs = ioctl(m->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_DEBUGREGS) > 0;
	e->have_xsave = ioctl(m->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_XSAVE) > 0;
	pick_msrs(e, &e->cpu[0]);

	e->power_on = calloc(e->nr_cpus, sizeof(*e->power_on));
	e->known = calloc(e->nr_cpus, sizeof(*e->known));
	err = -ENOMEM;
	if (!e->power_on || !e->known)
		goto fail;
	for (int i = 0; i < e->nr_cpus; i++)
		if ((err = get_state(e, &e->cpu[i], &e->power_on[i])))
			goto fail;
	memcpy(e->known, e->power_on, e->nr_cpus * sizeof(e->known[0]));
	e->known_valid = true;
	for (unsigned i = 0; i < ARRAY_SIZE(e->chip); i++) {
		e->chip[i].chip_id = i;  /* KVM_IRQCHIP_PIC_MASTER, _SLAVE, _IOAPIC */
		if (ioctl(m->vm_fd, KVM_GET_IRQCHIP, &e->chip[i]) < 0) {
			err = -errno;
			warn("kvm: KVM_GET_IRQCHIP %u: %s", i, strerror(errno));
			goto fail;
		}
	}
	if (ioctl(m->vm_fd, KVM_GET_PIT2, &e->pit) < 0) {
		err = -errno;
		warn("kvm: KVM_GET_PIT2: %s", strerror(errno));
		goto fail;
	}
	return 0;
fail:
	kvm_destroy(vm);
	return err;
}

/* ioeventfd (api.rst, KVM_IOEVENTFD): a guest write that rings a doorbell
 * completes in the kernel and wakes the I/O thread, which rings the
 * device there: the vCPU does not leave the guest for a notification.
 * A doorbell without one still works, through an MMIO exit. */
static void doorbell_ready(void *opaque, uint32_t events)
{
	struct kvm_doorbell *d = opaque;
	uint64_t cnt;

	(void)events;
	if (read(d->fd, &cnt, sizeof(cnt)) != sizeof(cnt))
		return;
	d->db->ring(d->db->opaque, d->db->data);
}

static void setup_doorbells(struct kvm_engine *e)
{
	struct vm *vm = e->vm;

	if (!vm->loop || getenv("TREVO_NO_IOEVENTFD") ||
	    ioctl(e->m->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_IOEVENTFD) <= 0)
		return;
	for (int i = 0; i < vm->nr_doorbells; i++) {
		const struct vm_doorbell *db = &vm->doorbell[i];
		struct kvm_doorbell *d = &e->doorbell[e->nr_doorbells];
		struct kvm_ioeventfd io = {
			.datamatch = db->data,
			.addr = db->addr,
			.len = db->len,
			.flags = KVM_IOEVENTFD_FLAG_DATAMATCH,
		};

		if (!db->ring || (db->len != 1 && db->len != 2 && db->len != 4 && db->len != 8))
			continue;
		d->db = db;
		d->fd = io.fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if (d->fd < 0 || ioctl(e->m->vm_fd, KVM_IOEVENTFD, &io) < 0) {
			debug("kvm: no ioeventfd for the doorbell at %#llx: %s",
			      (unsigned long long)db->addr, strerror(errno));
			if (d->fd >= 0)
				close(d->fd);
			continue;
		}
		if (loop_add_fd(vm->loop, d->fd, EPOLLIN, doorbell_ready, d) < 0) {
			io.flags |= KVM_IOEVENTFD_FLAG_DEASSIGN;
			ioctl(e->m->vm_fd, KVM_IOEVENTFD, &io);
			close(d->fd);
			continue;
		}
		e->nr_doorbells++;
	}
}

static void close_doorbells(struct kvm_engine *e)
{
	for (int i = 0; i < e->nr_doorbells; i++) {
		struct kvm_doorbell *d = &e->doorbell[i];
		struct kvm_ioeventfd io = {
			.datamatch = d->db->data,
			.addr = d->db->addr,
			.len = d->db->len,
			.fd = d->fd,
			.flags = KVM_IOEVENTFD_FLAG_DATAMATCH | KVM_IOEVENTFD_FLAG_DEASSIGN,
		};
		loop_del_fd(e->vm->loop, d->fd);
		ioctl(e->m->vm_fd, KVM_IOEVENTFD, &io);
		close(d->fd);
	}
	e->nr_doorbells = 0;
}

/* The halt poll: every HALT_POLL_NS each running vCPU tells whether it sits
 * in HLT with interrupts off (answer_halt_poll in vcpu.c). Two rounds in a
 * row with all of them so: nothing can wake them but an NMI, which nothing
 * here sends; the guest halted the machine (Linux `halt`, `cli; hlt` in a
 * test guest), which is a poweroff. Paused vCPUs are not asked. */
static void halt_poll_round(struct kvm_engine *e, int *dead_rounds)
{
	int dead = 0;

	for (int i = 0; i < e->nr_cpus; i++) {
		struct x86_vcpu *c = &e->cpu[i];
		if (!atomic_load(&c->poll_req) && atomic_load(&c->halted_dead))
			dead++;
		atomic_store(&c->halted_dead, 0);
		atomic_store(&c->poll_req, 1);
		x86_vcpu_kick(c);
	}
	*dead_rounds = dead == e->nr_cpus ? *dead_rounds + 1 : 0;
	if (*dead_rounds >= 2)
		vm_request_exit(e->vm, VM_POWEROFF, 0);
}

static void *watcher_thread(void *arg)
{
	struct kvm_engine *e = arg;
	int dead_rounds = 0;
	struct timespec next;

	seccomp_enter(SECCOMP_KVM_WATCHER);
	clock_gettime(CLOCK_MONOTONIC, &next);
	pthread_mutex_lock(&e->lock);
	while (!e->quit) {
		struct timespec now;

		next.tv_nsec += HALT_POLL_NS;
		if (next.tv_nsec >= 1000000000L) {
			next.tv_sec++;
			next.tv_nsec -= 1000000000L;
		}
		/* e->cond is broadcast on every park: wait out the interval. */
		do {
			pthread_cond_timedwait(&e->cond, &e->lock, &next);
			clock_gettime(CLOCK_MONOTONIC, &now);
		} while (!e->quit && (now.tv_sec < next.tv_sec ||
				      (now.tv_sec == next.tv_sec && now.tv_nsec < next.tv_nsec)));
		if (e->quit)
			break;
		if (x86_vcpu_must_park(e)) {
			dead_rounds = 0;
			for (int i = 0; i < e->nr_cpus; i++)
				atomic_store(&e->cpu[i].poll_req, 0);
			continue;
		}
		pthread_mutex_unlock(&e->lock);
		halt_poll_round(e, &dead_rounds);
		pthread_mutex_lock(&e->lock);
	}
	pthread_mutex_unlock(&e->lock);
	return NULL;
}

static void kvm_kick(struct vm *vm)
{
	struct kvm_engine *e = engine_of(vm);

	if (!e)
		return;
	for (int i = 0; i < e->nr_cpus; i++)
		x86_vcpu_kick(&e->cpu[i]);
	pthread_mutex_lock(&e->lock);
	pthread_cond_broadcast(&e->cond);
	pthread_mutex_unlock(&e->lock);
}

/* The doorbells and interrupt lines are known once the devices exist,
 * which is after create: their eventfds are wired here, once. */
static int kvm_start(struct vm *vm)
{
	struct kvm_engine *e = engine_of(vm);

	e->known_valid = false;
	setup_doorbells(e);
	x86_irq_start(e->m);
	for (int i = 0; i < e->nr_cpus; i++) {
		struct x86_vcpu *c = &e->cpu[i];
		int err = pthread_create(&c->thread, NULL, x86_vcpu_thread, c);
		if (err) {
			warn("kvm: cannot start vCPU thread %d: %s", i, strerror(err));
			return -err;
		}
		c->started = true;
	}
	if (pthread_create(&e->watcher, NULL, watcher_thread, e) == 0)
		e->watcher_started = true;
	else
		warn("kvm: no halt watcher: a halted guest will not end trevo");
	return 0;
}

static int nr_started(struct kvm_engine *e)
{
	int n = 0;

	for (int i = 0; i < e->nr_cpus; i++)
		n += e->cpu[i].started;
	return n;
}

static void kvm_pause(struct vm *vm)
{
	struct kvm_engine *e = engine_of(vm);
	int n = nr_started(e);

	pthread_mutex_lock(&e->lock);
	e->paused = true;
	pthread_mutex_unlock(&e->lock);
	for (int i = 0; i < e->nr_cpus; i++)
		x86_vcpu_kick(&e->cpu[i]);
	pthread_mutex_lock(&e->lock);
	while (e->nr_parked < n)
		pthread_cond_wait(&e->cond, &e->lock);
	pthread_mutex_unlock(&e->lock);
}

static void kvm_resume(struct vm *vm)
{
	struct kvm_engine *e = engine_of(vm);

	e->known_valid = false;  /* the vCPUs may run from here */
	pthread_mutex_lock(&e->lock);
	e->paused = false;
	pthread_cond_broadcast(&e->cond);
	pthread_mutex_unlock(&e->lock);
}

static int kvm_get_vcpu(struct vm *vm, int cpu, struct vcpu_state *s)
{
	struct kvm_engine *e = engine_of(vm);

	if (!e || cpu < 0 || cpu >= e->nr_cpus)
		return -EINVAL;
	memset(s, 0, sizeof(*s));
	s->version = VCPU_STATE_VERSION;
	s->arch = VCPU_ARCH_X86_64;
	if (e->known_valid) {
		s->x86 = e->known[cpu];
		return 0;
	}
	return get_state(e, &e->cpu[cpu], &s->x86);
}

static int kvm_set_vcpu(struct vm *vm, int cpu, const struct vcpu_state *s)
{
	struct kvm_engine *e = engine_of(vm);

	if (!e || cpu < 0 || cpu >= e->nr_cpus || s->version != VCPU_STATE_VERSION ||
	    s->arch != VCPU_ARCH_X86_64)
		return -EINVAL;
	if (e->known_valid) {
		int err = set_state(e, &e->cpu[cpu], &s->x86, &e->known[cpu]);
		if (err)
			e->known_valid = false;  /* partly written: no longer known */
		else
			e->known[cpu] = s->x86;
		return err;
	}
	return set_state(e, &e->cpu[cpu], &s->x86, NULL);
}

/* Everything back to the state captured at create: vCPUs (registers,
 * LAPIC, MSRs, TSC offset; the APs waiting for SIPI again), the PICs and
 * the IOAPIC, the PIT; and the irqfds emptied. While paused. */
static void kvm_reset(struct vm *vm)
{
	struct kvm_engine *e = engine_of(vm);
	struct x86_machine *m = e->m;

	for (unsigned i = 0; i < ARRAY_SIZE(e->chip); i++) {
		struct kvm_irqchip chip = e->chip[i];
		if (ioctl(m->vm_fd, KVM_SET_IRQCHIP, &chip) < 0)
			warn("kvm: reset: KVM_SET_IRQCHIP %u: %s", i, strerror(errno));
	}
	{
		struct kvm_pit_state2 pit = e->pit;
		if (ioctl(m->vm_fd, KVM_SET_PIT2, &pit) < 0)
			warn("kvm: reset: KVM_SET_PIT2: %s", strerror(errno));
	}
	x86_irq_reset(m);
	e->known_valid = true;
	for (int i = 0; i < e->nr_cpus; i++) {
		struct x86_vcpu *c = &e->cpu[i];
		if (set_state(e, c, &e->power_on[i], NULL)) {
			warn("kvm: reset: CPU %d keeps part of its old state", i);
			e->known_valid = false;
		}
		e->known[i] = e->power_on[i];
		atomic_store(&c->poll_req, 0);
		atomic_store(&c->halted_dead, 0);
	}
}

/* Nothing to do: guest code runs on the host CPU, which keeps instruction
 * fetch coherent with every store, its own, DMA and other threads' (SDM
 * vol. 3, 11.6 "Self-modifying code"), and KVM keeps no translation of
 * guest code (its page tables map guest RAM, not instructions; its
 * emulator decodes each instruction afresh). */
static void kvm_invalidate_code(struct vm *vm, uint64_t gpa, uint64_t len)
{
	(void)vm; (void)gpa; (void)len;
}

static void kvm_vcpu_stats(struct vm *vm, int cpu, const struct stats_sink *s)
{
	struct kvm_engine *e = engine_of(vm);
	const struct kvm_stats_info *ki;
	struct x86_vcpu *c;
	uint64_t total = 0;

	if (!e || cpu < 0 || cpu >= e->nr_cpus)
		return;
	c = &e->cpu[cpu];
	ki = &e->kstats;
	for (unsigned r = 0; r < VCPU_EXIT_REASONS; r++) {
		uint64_t n = atomic_load_explicit(&c->cnt.exits[r], memory_order_relaxed);
		const char *name = x86_exit_name(r);
		total += n;
		if (name)
			stats_put(s, name, n);
		else if (n) {
			char other[32];
			snprintf(other, sizeof(other), "exits_reason_%u", r);
			stats_put(s, other, n);
		}
	}
	stats_put(s, "exits", total);
	stats_put(s, "io_accesses", atomic_load_explicit(&c->cnt.io_items, memory_order_relaxed));
	stats_put(s, "mmio_unassigned",
		  atomic_load_explicit(&c->cnt.mmio_exits_unassigned, memory_order_relaxed));
	stats_put(s, "kicks", atomic_load_explicit(&c->cnt.kicks_seen, memory_order_relaxed));
	stats_put(s, "parks", atomic_load_explicit(&c->cnt.parks, memory_order_relaxed));
	/* KVM's own per-vCPU counters (halt_exits, halt_wakeup, io_exits,
	 * irq_injections...), read in one go from its stats fd. */
	if (c->stats_fd >= 0 && ki->stat && ki->data_words) {
		uint64_t *data = calloc(ki->data_words, sizeof(*data));
		size_t len = ki->data_words * sizeof(*data);
		if (data && pread(c->stats_fd, data, len, ki->data_offset) == (ssize_t)len)
			for (int i = 0; i < ki->nr; i++)
				stats_put(s, ki->stat[i].name, data[ki->stat[i].offset]);
		free(data);
	}
}

static int kvm_vcpu_thread_id(struct vm *vm, int cpu)
{
	struct kvm_engine *e = engine_of(vm);

	if (!e || cpu < 0 || cpu >= e->nr_cpus)
		return 0;
	return atomic_load(&e->cpu[cpu].tid);
}

static void kvm_destroy(struct vm *vm)
{
	struct kvm_engine *e = engine_of(vm);

	if (!e)
		return;
	pthread_mutex_lock(&e->lock);
	e->quit = true;
	pthread_cond_broadcast(&e->cond);
	pthread_mutex_unlock(&e->lock);
	for (int i = 0; i < e->nr_cpus; i++)
		x86_vcpu_kick(&e->cpu[i]);
	for (int i = 0; i < e->nr_cpus; i++)
		if (e->cpu[i].started)
			pthread_join(e->cpu[i].thread, NULL);
	if (e->watcher_started)
		pthread_join(e->watcher, NULL);
	close_doorbells(e);
	for (int i = 0; i < e->nr_cpus; i++) {
		struct x86_vcpu *c = &e->cpu[i];
		if (c->run)
			munmap(c->run, e->m->run_size);
		if (c->stats_fd >= 0)
			close(c->stats_fd);
		if (c->fd >= 0)
			close(c->fd);
	}
	free(e->power_on);
	free(e->known);
	free(e->kstats.stat);
	pthread_mutex_destroy(&e->lock);
	pthread_cond_destroy(&e->cond);
	free(e);
	vm->engine_state = NULL;
}

static int kvm_dirty_log(struct vm *vm, bool on)
{
	return x86_kvm_dirty_log(x86_machine(vm), on);
}

static int kvm_dirty_sync(struct vm *vm)
{
	return x86_kvm_dirty_sync(x86_machine(vm));
}

static const struct engine_ops kvm_engine_ops = {
	.name = "kvm",
	.arch = VCPU_ARCH_X86_64,
	.create = kvm_create,
	.start = kvm_start,
	.kick = kvm_kick,
	.pause = kvm_pause,
	.resume = kvm_resume,
	.reset = kvm_reset,
	.get_vcpu = kvm_get_vcpu,
	.set_vcpu = kvm_set_vcpu,
	.invalidate_code = kvm_invalidate_code,
	.dirty_log = kvm_dirty_log,
	.dirty_sync = kvm_dirty_sync,
	.vcpu_stats = kvm_vcpu_stats,
	.vcpu_thread_id = kvm_vcpu_thread_id,
	.destroy = kvm_destroy,
};

ENGINE(kvm_engine_ops)
