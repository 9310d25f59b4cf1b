/* Interrupt routing of the x86 machine: device lines (vm->set_irq) to the
 * GSIs of KVM's in-kernel IOAPIC/PIC. The lines devices got from
 * vm_alloc_irq ([irq_alloc_first, irq_alloc_next): level-triggered in the
 * MADT, acpi.c) go through a resampling irqfd where KVM has one; every
 * other line, and every line without irqfd (TREVO_NO_IRQFD=1), through
 * KVM_IRQ_LINE. Documentation/virt/kvm/api.rst, KVM_IRQFD and KVM_IRQ_LINE. */
#include "x86.h"

#include "../host/loop.h"

#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <unistd.h>

void x86_irq_init(struct x86_machine *m)
{
	for (unsigned i = 0; i < X86_NR_GSI; i++)
		m->irq[i] = (struct x86_irq_route){ .m = m, .gsi = i, .fd = -1, .resample_fd = -1 };
}

static void irqfd_assert(struct x86_irq_route *r)
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
void x86_set_irq(void *ctx, unsigned irq, int level)
{
	struct x86_machine *m = ctx;
	struct kvm_irq_level l = { .irq = irq, .level = level ? 1 : 0 };

	if (irq < X86_NR_GSI && m->irq[irq].fd >= 0) {
		struct x86_irq_route *r = &m->irq[irq];
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
	struct x86_irq_route *r = opaque;
	uint64_t cnt;

	(void)events;
	if (read(r->resample_fd, &cnt, sizeof(cnt)) != sizeof(cnt))
		return;
	if (atomic_load(&r->level))
		irqfd_assert(r);
}

static int irqfd_assign(struct x86_irq_route *r, bool assign)
{
	struct kvm_irqfd irqfd;

	memset(&irqfd, 0, sizeof(irqfd));
	irqfd.fd = r->fd;
	irqfd.gsi = r->gsi;
	irqfd.flags = assign ? KVM_IRQFD_FLAG_RESAMPLE : KVM_IRQFD_FLAG_DEASSIGN;
	irqfd.resamplefd = assign ? r->resample_fd : 0;
	return ioctl(r->m->vm_fd, KVM_IRQFD, &irqfd) < 0 ? -errno : 0;
}

static void irqfd_close(struct x86_irq_route *r)
{
	if (r->fd >= 0)
		close(r->fd);
	if (r->resample_fd >= 0)
		close(r->resample_fd);
	r->fd = r->resample_fd = -1;
}

void x86_irq_start(struct x86_machine *m)
{
	struct vm *vm = m->vm;

	if (!vm->loop || !vm->irq_alloc_first || getenv("TREVO_NO_IRQFD") ||
	    ioctl(m->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_IRQFD) <= 0 ||
	    ioctl(m->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_IRQFD_RESAMPLE) <= 0)
		return;
	for (int gsi = vm->irq_alloc_first; gsi < vm->irq_alloc_next && gsi < X86_NR_GSI; gsi++) {
		struct x86_irq_route *r = &m->irq[gsi];
		int err = 0;

		if (gsi < 0 || r->fd >= 0)
			continue;
		r->fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		r->resample_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if (r->fd < 0 || r->resample_fd < 0)
			err = -errno;
		if (!err)
			err = irqfd_assign(r, true);
		if (!err && loop_add_fd(vm->loop, r->resample_fd, EPOLLIN, irqfd_resample, r) < 0) {
			err = -EIO;
			irqfd_assign(r, false);
		}
		if (err) {
			debug("kvm: no irqfd for GSI %u: %s", r->gsi, strerror(-err));
			irqfd_close(r);
		}
	}
}

/* A resampler that raised its GSI holds it in KVM until the guest's EOI,
 * which after a reset never comes: deassigning the irqfd drops what it
 * holds (the last irqfd on a resampler lowers the line), assigning it
 * again starts clean. The devices, reset before us, hold no line. */
void x86_irq_reset(struct x86_machine *m)
{
	for (unsigned i = 0; i < X86_NR_GSI; i++) {
		struct x86_irq_route *r = &m->irq[i];
		int err;

		if (r->fd < 0)
			continue;
		atomic_store(&r->level, 0);
		if ((err = irqfd_assign(r, false)) || (err = irqfd_assign(r, true))) {
			/* The line falls back to KVM_IRQ_LINE. */
			warn("kvm: irqfd for GSI %u lost on reset: %s", i, strerror(-err));
			loop_del_fd(m->vm->loop, r->resample_fd);
			irqfd_close(r);
		}
	}
}

/* After the I/O thread stopped. */
void x86_irq_destroy(struct x86_machine *m)
{
	for (unsigned i = 0; i < X86_NR_GSI; i++)
		irqfd_close(&m->irq[i]);
}
