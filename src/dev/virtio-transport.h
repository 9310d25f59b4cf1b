/* The transport side of the virtio core: what a transport (virtio-mmio
 * today, PCI later) implements and what it may call. Only the core and the
 * transports include this file; devices see virtio.h alone, so a device
 * never knows how the driver reaches it (STYLE.md lesson 2). */
#ifndef TREVO_VIRTIO_TRANSPORT_H
#define TREVO_VIRTIO_TRANSPORT_H

#include "virtio.h"

struct virtio_transport_ops {
	const char *name;
	/* Put d on the VM: registers, interrupt line, doorbells (vm_add_doorbell,
	 * one per queue), the guest's description. Sets d->transport. 0 or
	 * -errno after a one-line message. */
	int (*plug)(struct virtio_dev *d, const struct dev_params *p);
	/* Lock held. Raise interrupt cause bits (1 used buffer, 2 config). */
	void (*interrupt)(struct virtio_dev *d, uint32_t cause);
	/* Lock held. Transport registers to their power-on values, interrupt
	 * line lowered. */
	void (*reset)(struct virtio_dev *d);
	/* Lock held. Save or load the transport's registers (vmstate.h); a
	 * load checks every value and sets the interrupt line to match. */
	void (*state)(struct virtio_dev *d, struct vmstate *s);
	/* Free d->transport (its bus window stays registered: the VM is going
	 * away). */
	void (*destroy)(struct virtio_dev *d);
};

extern const struct virtio_transport_ops virtio_mmio_transport;

/* Status write of 0: reset the device and every queue. Lock held. */
void virtio_dev_reset(struct virtio_dev *d);
/* Driver wrote the status register. Lock held. */
void virtio_dev_set_status(struct virtio_dev *d, uint8_t status);
/* The driver rang queue q's doorbell. Lock held. */
void virtio_queue_notified(struct virtio_dev *d, unsigned q);

#endif
