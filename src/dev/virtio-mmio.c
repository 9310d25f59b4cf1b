/* The virtio-mmio transport, version 2 (virtio 1.2, 4.2): one 4 KiB window
 * of registers per device, one interrupt line. It knows nothing of the
 * device behind it (struct virtio_dev_ops) and nothing of the CPU engine:
 * vCPU threads call the register accessors, device I/O threads raise the
 * interrupt, and the device lock serialises both. The core reaches it only
 * through virtio_mmio_transport (virtio-transport.h). Each queue's
 * QueueNotify is also a doorbell (vm_add_doorbell), so an engine that can
 * catch the write itself (KVM ioeventfd) needs no register offsets. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../vm.h"
#include "../vmstate.h"
#include "virtio-transport.h"

#define MMIO_WINDOW 0x1000
#define MMIO_MAGIC 0x74726976          /* "virt" */
#define MMIO_VERSION 2
#define MMIO_VENDOR 0x56455254         /* "TREV" */

/* Register offsets (4.2.2) */
enum {
	REG_MAGIC = 0x000,
	REG_VERSION = 0x004,
	REG_DEVICE_ID = 0x008,
	REG_VENDOR_ID = 0x00c,
	REG_DEVICE_FEATURES = 0x010,
	REG_DEVICE_FEATURES_SEL = 0x014,
	REG_DRIVER_FEATURES = 0x020,
	REG_DRIVER_FEATURES_SEL = 0x024,
	REG_QUEUE_SEL = 0x030,
	REG_QUEUE_NUM_MAX = 0x034,
	REG_QUEUE_NUM = 0x038,
	REG_QUEUE_READY = 0x044,
	REG_QUEUE_NOTIFY = 0x050,
	REG_INTERRUPT_STATUS = 0x060,
	REG_INTERRUPT_ACK = 0x064,
	REG_STATUS = 0x070,
	REG_QUEUE_DESC_LOW = 0x080,
	REG_QUEUE_DESC_HIGH = 0x084,
	REG_QUEUE_DRIVER_LOW = 0x090,
	REG_QUEUE_DRIVER_HIGH = 0x094,
	REG_QUEUE_DEVICE_LOW = 0x0a0,
	REG_QUEUE_DEVICE_HIGH = 0x0a4,
	REG_SHM_SEL = 0x0ac,
	REG_SHM_LEN_LOW = 0x0b0,
	REG_SHM_LEN_HIGH = 0x0b4,
	REG_SHM_BASE_LOW = 0x0b8,
	REG_SHM_BASE_HIGH = 0x0bc,
	REG_CONFIG_GENERATION = 0x0fc,
	REG_CONFIG = 0x100,
};

struct virtio_mmio {
	struct virtio_dev *vdev;
	struct vm *vm;
	uint64_t base;
	int irq;
	struct irq_line line;
	uint32_t device_features_sel, driver_features_sel, queue_sel;
	uint32_t interrupt_status;
};

/* Lock held. The line is level-triggered: up while any cause is pending. */
static void mmio_update_irq(struct virtio_mmio *t)
{
	if (!t->line.set)  /* the board may wire its controller after us */
		t->line = vm_irq_line(t->vm, (unsigned)t->irq);
	irq_set_level(&t->line, t->interrupt_status != 0);
}

static void mmio_interrupt(struct virtio_dev *d, uint32_t cause)
{
	struct virtio_mmio *t = d->transport;

	t->interrupt_status |= cause;
	mmio_update_irq(t);
}

static void mmio_reset(struct virtio_dev *d);

static struct virtq *selected_queue(struct virtio_mmio *t)
{
	if (t->queue_sel >= t->vdev->ops->nr_queues)
		return NULL;
	return &t->vdev->vq[t->queue_sel];
}

static uint64_t config_read(struct virtio_mmio *t, uint64_t off, unsigned size)
{
	const struct virtio_dev_ops *ops = t->vdev->ops;
	uint64_t v = 0;

	/* 4.2.2.2: any access width for the device-specific config space. */
	if (off > ops->config_size || size > ops->config_size - off || !ops->config_read)
		return 0;
	ops->config_read(t->vdev->opaque, (uint32_t)off, &v, size);
	return v;
}

static uint64_t mmio_read(void *opaque, uint64_t off, unsigned size)
{
	struct virtio_mmio *t = opaque;
	struct virtio_dev *d = t->vdev;
	struct virtq *vq;
	uint64_t v = 0;

	virtio_lock(d);
	if (off >= REG_CONFIG) {
		v = config_read(t, off - REG_CONFIG, size);
		goto out;
	}
	/* 4.2.2.2: control registers are read as aligned 32-bit words. */
	if (size != 4 || (off & 3))
		goto out;
	vq = selected_queue(t);
	switch (off) {
	case REG_MAGIC: v = MMIO_MAGIC; break;
	case REG_VERSION: v = MMIO_VERSION; break;
	case REG_DEVICE_ID: v = d->ops->device_id; break;
	case REG_VENDOR_ID: v = MMIO_VENDOR; break;
	case REG_DEVICE_FEATURES:
		if (t->device_features_sel < 2)
			v = (uint32_t)(d->host_features >> (32 * t->device_features_sel));
		break;
	case REG_QUEUE_NUM_MAX: v = vq ? vq->max_size : 0; break;
	case REG_QUEUE_READY: v = vq ? vq->ready : 0; break;
	case REG_INTERRUPT_STATUS: v = t->interrupt_status; break;
	case REG_STATUS: v = d->status; break;
	/* No shared memory regions: length -1 says "absent" (4.2.2). */
	case REG_SHM_LEN_LOW: case REG_SHM_LEN_HIGH: v = 0xffffffff; break;
	case REG_SHM_BASE_LOW: case REG_SHM_BASE_HIGH: v = 0xffffffff; break;
	case REG_CONFIG_GENERATION: v = d->config_generation; break;
	/* 4.2.2: the ring addresses and sizes read back as written. */
	case REG_QUEUE_NUM: v = vq ? vq->size : 0; break;
	case REG_QUEUE_DESC_LOW: v = vq ? (uint32_t)vq->desc : 0; break;
	case REG_QUEUE_DESC_HIGH: v = vq ? vq->desc >> 32 : 0; break;
	case REG_QUEUE_DRIVER_LOW: v = vq ? (uint32_t)vq->avail : 0; break;
	case REG_QUEUE_DRIVER_HIGH: v = vq ? vq->avail >> 32 : 0; break;
	case REG_QUEUE_DEVICE_LOW: v = vq ? (uint32_t)vq->used : 0; break;
	case REG_QUEUE_DEVICE_HIGH: v = vq ? vq->used >> 32 : 0; break;
	}
out:
	virtio_unlock(d);
	return v;
}

static void set_low(uint64_t *r, uint32_t v)
{
	*r = (*r & ~0xffffffffULL) | v;
}

static void set_high(uint64_t *r, uint32_t v)
{
	*r = (*r & 0xffffffffULL) | (uint64_t)v << 32;
}

static void mmio_write(void *opaque, uint64_t off, uint64_t value, unsigned size)
{
	struct virtio_mmio *t = opaque;
	struct virtio_dev *d = t->vdev;
	uint32_t v = (uint32_t)value;
	struct virtq *vq;

	virtio_lock(d);
	if (off >= REG_CONFIG) {
		const struct virtio_dev_ops *ops = d->ops;
		off -= REG_CONFIG;
		if (off <= ops->config_size && size <= ops->config_size - off && ops->config_write)
			ops->config_write(d->opaque, (uint32_t)off, &value, size);
		goto out;
	}
	if (size != 4 || (off & 3))
		goto out;
	vq = selected_queue(t);
	switch (off) {
	case REG_DEVICE_FEATURES_SEL: t->device_features_sel = v; break;
	case REG_DRIVER_FEATURES_SEL: t->driver_features_sel = v; break;
	case REG_DRIVER_FEATURES:
		/* 3.1.1: features are fixed once FEATURES_OK is set. */
		if (d->status & VIRTIO_STATUS_FEATURES_OK)
			break;
		if (t->driver_features_sel == 0)
			set_low(&d->driver_features, v);
		else if (t->driver_features_sel == 1)
			set_high(&d->driver_features, v);
		break;
	case REG_QUEUE_SEL: t->queue_sel = v; break;
	case REG_QUEUE_NUM:
		/* 4.2.2.3: the driver sets the queue up while it is not ready.
		 * 2.7: "Queue Size value is always a power of 2" for split
		 * queues (and the ring math wraps the 16-bit indices only then);
		 * any other size, or one above QueueNumMax, is ignored and the
		 * register keeps its value. */
		if (vq && !vq->ready && virtq_size_valid(v, vq->max_size))
			vq->size = (uint16_t)v;
		break;
	case REG_QUEUE_READY:
		if (!vq)
			break;
		if (v & 1) {
			vq->ready = true;
		} else {
			/* Disabling a queue forgets its state, as a reset. */
			virtq_reset(vq);
			vq->event_idx = virtio_has_feature(d, VIRTIO_F_RING_EVENT_IDX);
			vq->indirect = virtio_has_feature(d, VIRTIO_F_RING_INDIRECT_DESC);
		}
		break;
	case REG_QUEUE_DESC_LOW: if (vq && !vq->ready) set_low(&vq->desc, v); break;
	case REG_QUEUE_DESC_HIGH: if (vq && !vq->ready) set_high(&vq->desc, v); break;
	case REG_QUEUE_DRIVER_LOW: if (vq && !vq->ready) set_low(&vq->avail, v); break;
	case REG_QUEUE_DRIVER_HIGH: if (vq && !vq->ready) set_high(&vq->avail, v); break;
	case REG_QUEUE_DEVICE_LOW: if (vq && !vq->ready) set_low(&vq->used, v); break;
	case REG_QUEUE_DEVICE_HIGH: if (vq && !vq->ready) set_high(&vq->used, v); break;
	case REG_QUEUE_NOTIFY:
		/* Low 16 bits: queue index (no NOTIFICATION_DATA offered). */
		virtio_queue_notified(d, v & 0xffff);
		break;
	case REG_INTERRUPT_ACK:
		t->interrupt_status &= ~v;
		mmio_update_irq(t);
		break;
	case REG_STATUS:
		virtio_dev_set_status(d, (uint8_t)v);
		if (v == 0)
			mmio_reset(d);  /* 4.2.2.1: the interrupt state too */
		break;
	}
out:
	virtio_unlock(d);
}

static const struct mmio_ops virtio_mmio_ops = {
	.read = mmio_read,
	.write = mmio_write,
};

/* A doorbell rung without a register access (KVM's ioeventfd on the I/O
 * thread): the same path as the guest's write of data to QueueNotify. */
static void mmio_doorbell(void *opaque, uint32_t data)
{
	mmio_write(opaque, REG_QUEUE_NOTIFY, data, 4);
}

static int mmio_plug(struct virtio_dev *d, const struct dev_params *p)
{
	const struct virtio_dev_ops *ops = d->ops;
	struct vm *vm = d->vm;
	struct virtio_mmio *t;
	struct dev_desc desc = { .node_name = "virtio_mmio", .compatible = "virtio,mmio",
				 .size = MMIO_WINDOW };
	uint64_t base = p->base;
	int irq = p->irq, err;

	if (ops->config_size > MMIO_WINDOW - REG_CONFIG)
		return -EINVAL;
	/* Check the tables first: a window cannot be taken back. */
	if (vm->nr_desc >= VM_MAX_DESC ||
	    vm->nr_doorbells > VM_MAX_DOORBELLS - (int)ops->nr_queues) {
		warn("%s: too many devices", ops->name);
		return -ENOSPC;
	}
	if (!base && (err = vm_alloc_mmio(vm, MMIO_WINDOW, &base))) {
		warn("%s: no free virtio-mmio slot", ops->name);
		return err;
	}
	if (irq < 0 && (irq = vm_alloc_irq(vm)) < 0) {
		warn("%s: no free interrupt line", ops->name);
		return irq;
	}
	t = calloc(1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	t->vdev = d;
	t->vm = vm;
	t->base = base;
	t->irq = irq;
	t->line = vm_irq_line(vm, (unsigned)irq);
	if ((err = vm_add_mmio(vm, base, MMIO_WINDOW, &virtio_mmio_ops, t, ops->name))) {
		free(t);
		return err;
	}
	d->transport = t;
	for (unsigned q = 0; q < ops->nr_queues; q++) {
		struct vm_doorbell db = { .addr = base + REG_QUEUE_NOTIFY, .len = 4, .data = q,
					  .ring = mmio_doorbell, .opaque = t };
		vm_add_doorbell(vm, &db);  /* room checked above */
	}
	desc.base = base;
	desc.irq = irq;
	vm_describe(vm, &desc);
	debug("%s: virtio-mmio at %#llx irq %d", ops->name, (unsigned long long)base, irq);
	return 0;
}

static void mmio_reset(struct virtio_dev *d)
{
	struct virtio_mmio *t = d->transport;

	t->device_features_sel = t->driver_features_sel = t->queue_sel = 0;
	t->interrupt_status = 0;
	mmio_update_irq(t);
}

static void mmio_state(struct virtio_dev *d, struct vmstate *s)
{
	struct virtio_mmio *t = d->transport;

	/* The selectors read back as written (any value); only bits 0 and 1
	 * of InterruptStatus exist (4.2.2). */
	vms_u32(s, &t->device_features_sel);
	vms_u32(s, &t->driver_features_sel);
	vms_u32(s, &t->queue_sel);
	vms_u32(s, &t->interrupt_status);
	vms_check(s, t->interrupt_status <= 3, "virtio-mmio interrupt status");
	if (s->loading && !vms_error(s))
		mmio_update_irq(t);
}

static void mmio_destroy(struct virtio_dev *d)
{
	free(d->transport);
	d->transport = NULL;
}

const struct virtio_transport_ops virtio_mmio_transport = {
	.name = "virtio-mmio",
	.plug = mmio_plug,
	.interrupt = mmio_interrupt,
	.reset = mmio_reset,
	.state = mmio_state,
	.destroy = mmio_destroy,
};
