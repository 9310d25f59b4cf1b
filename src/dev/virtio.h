/* Virtio 1.2 core: split virtqueues (2.7) and the device side of a virtio
 * device, independent of the transport (virtio-mmio today, PCI later) and of
 * the CPU engine (STYLE.md lesson 2).
 *
 * A device model fills one const struct virtio_dev_ops, calls virtio_plug()
 * and from then on sees only its struct virtio_dev: the queues, the
 * negotiated features, the device lock and the notification helpers. Its
 * device_ops are VIRTIO_DEVICE_OPS: the core drives reset, pause, resume,
 * state, stats and destroy and calls the device's hooks for its own part.
 * The transport is behind struct virtio_transport_ops (virtio-transport.h),
 * which no device includes. Guest
 * memory is reached only through src/mem.h; whatever the guest writes into
 * the rings, the worst outcome is a failed request or DEVICE_NEEDS_RESET. */
#ifndef TREVO_VIRTIO_H
#define TREVO_VIRTIO_H

#include "../common.h"
#include "../mem.h"
#include "device.h"

#include <pthread.h>
#include <sys/uio.h>

/* Device status bits (2.1) */
#define VIRTIO_STATUS_ACKNOWLEDGE        1
#define VIRTIO_STATUS_DRIVER             2
#define VIRTIO_STATUS_DRIVER_OK          4
#define VIRTIO_STATUS_FEATURES_OK        8
#define VIRTIO_STATUS_DEVICE_NEEDS_RESET 64
#define VIRTIO_STATUS_FAILED             128

/* Reserved feature bits (6) */
#define VIRTIO_F_RING_INDIRECT_DESC 28
#define VIRTIO_F_RING_EVENT_IDX     29
#define VIRTIO_F_VERSION_1          32
#define VIRTIO_F_ACCESS_PLATFORM    33

/* Device ids (5) */
#define VIRTIO_ID_NET     1
#define VIRTIO_ID_BLOCK   2
#define VIRTIO_ID_CONSOLE 3
#define VIRTIO_ID_RNG     4

/* Ring layout (2.7.5, 2.7.6, 2.7.8) */
#define VIRTQ_DESC_F_NEXT     1
#define VIRTQ_DESC_F_WRITE    2
#define VIRTQ_DESC_F_INDIRECT 4
#define VIRTQ_AVAIL_F_NO_INTERRUPT 1
#define VIRTQ_USED_F_NO_NOTIFY     1

#define VIRTQ_MAX_SIZE 32768        /* 2.7: largest split queue */
#define VIRTIO_MAX_QUEUES 8
/* A chain with more buffers than this fails (2.7.4.1 allows "a reasonable
 * limit of descriptors"); Linux never sends more than its seg_max + 2. */
#define VIRTQ_MAX_SEGS 1024

struct virtq_desc {
	uint64_t addr;
	uint32_t len;
	uint16_t flags;
	uint16_t next;
};

/* One piece of a request: guest-physical address, length and the host
 * mapping of that range (always inside one RAM region). */
struct virtq_seg {
	uint64_t gpa;
	uint32_t len;
	uint8_t *host;
};

/* A request popped from the available ring: the device-readable segments
 * (out) come first, then the device-writable ones (in). */
struct virtq_req {
	uint16_t head;               /* descriptor index to hand back in used */
	unsigned nr_out, nr_in;
	uint64_t out_len, in_len;    /* bytes in each part */
	struct virtq_seg seg[VIRTQ_MAX_SEGS];
};

/* Driver-visible state of one split virtqueue plus the device's cursors.
 * All virtq_* functions are called with the owning device's lock held. */
struct virtq {
	struct guest_mem *mem;
	uint16_t max_size;           /* QueueNumMax */
	uint16_t size;               /* QueueNum chosen by the driver */
	bool ready;
	uint64_t desc, avail, used;  /* guest-physical ring addresses */

	bool event_idx, indirect;    /* negotiated */
	bool broken;                 /* malformed ring seen: needs reset */
	bool notify_enabled;         /* available-buffer notifications wanted */
	uint16_t last_avail;         /* next available-ring slot to consume */
	uint16_t used_idx;           /* our copy of used->idx */
	uint16_t signalled_used;     /* used->idx at the last interrupt */
	bool signalled_valid;
};

/* 2.7: "Queue Size ... must be a power of 2" for split queues, and at
 * most what the device offers (QueueNumMax). */
static inline bool virtq_size_valid(uint32_t size, uint32_t max)
{
	return size >= 1 && size <= max && !(size & (size - 1));
}

/* Forget all queue state (device reset, 4.2.2.1 / 2.4). */
void virtq_reset(struct virtq *vq);
/* Descriptors the driver made available and we have not popped yet; -EPROTO
 * when avail->idx ran more than a queue ahead (2.7.6) or cannot be read. */
int virtq_pending(struct virtq *vq);
/* Take the next request off the available ring. 1: *req filled; 0: ring
 * empty; -EPROTO: the ring itself is malformed (vq->broken is set; the
 * caller must set DEVICE_NEEDS_RESET, virtio_pop does that); -EINVAL: the
 * chain is bad (loop, too long, buffer outside RAM, writable before
 * readable, bad indirect table) but the ring is sound: req->head is valid
 * and the caller fails that one request with virtq_push_used(vq, head, 0). */
int virtq_pop_chain(struct virtq *vq, struct virtq_req *req);
/* Put head back with len bytes written into its writable part (2.7.8),
 * ordering the element before the index. 0 or -EFAULT. */
int virtq_push_used(struct virtq *vq, uint16_t head, uint32_t len);
/* Whether the driver wants a used-buffer notification for what was pushed
 * since the last time this returned true (2.7.7, VIRTIO_F_EVENT_IDX). */
bool virtq_should_notify(struct virtq *vq);
/* Available-buffer notification suppression (2.7.10): disable while the
 * device drains the ring; enable returns true when more work arrived in the
 * window (the device must then drain again). */
void virtq_disable_notify(struct virtq *vq);
bool virtq_enable_notify(struct virtq *vq);

/* Copy between a request's segments and a host buffer, starting off bytes
 * into its readable (out) or writable (in) part. Return bytes copied. */
size_t virtq_req_read(const struct virtq_req *req, uint64_t off, void *buf, size_t len);
size_t virtq_req_write(struct guest_mem *mem, const struct virtq_req *req, uint64_t off,
		       const void *buf, size_t len);
/* Fill iov[] with [off, off+len) of the request's writable (in=true) or
 * readable part; returns the number of iovecs (at most max) and sets *got to
 * the bytes covered. Used for preadv/pwritev straight into guest RAM. */
int virtq_req_iov(const struct virtq_req *req, bool in, uint64_t off, uint64_t len,
		  struct iovec *iov, int max, uint64_t *got);
/* Tell the software CPU that the device wrote guest RAM behind its back
 * (through a host mapping from a virtq_seg). */
void virtio_dma_written(struct guest_mem *mem, uint64_t gpa, uint64_t len);

/* ---- device side ------------------------------------------------------- */

struct virtio_dev;
struct vmstate;
struct stats_sink;

/* What a device model provides. Every callback runs with the device lock
 * held (virtio_lock) unless it says otherwise; none knows which transport
 * called it. The lifecycle hooks (pause to destroy) cover only what is the
 * device's own: the core does the transport, the features, the status and
 * the queues (virtio_device_* below). */
struct virtio_dev_ops {
	const char *name;            /* "virtio-blk": used in messages */
	uint32_t device_id;
	unsigned nr_queues;
	uint16_t queue_max;          /* QueueNumMax of every queue: a power of 2 */
	uint64_t features;           /* device-specific bits (0..23, 50..) */
	uint32_t config_size;
	/* Config space (device layout, little-endian), off+len <= config_size */
	void (*config_read)(void *opaque, uint32_t off, void *buf, unsigned len);
	void (*config_write)(void *opaque, uint32_t off, const void *buf, unsigned len);
	/* The driver notified queue q (vCPU thread: kick a worker, do not block) */
	void (*queue_notify)(void *opaque, unsigned q);
	/* DRIVER_OK was set: queues are live */
	void (*start)(void *opaque);
	/* Device reset: drop all state and in-flight work. May wait for I/O
	 * threads (they release the lock while working). */
	void (*reset)(void *opaque);
	/* The core has set paused (virtio_pop hands out nothing more): wait
	 * until what the device popped is completed. May wait on the lock. */
	void (*pause)(void *opaque);
	/* paused is clear again: pick up what arrived meanwhile. */
	void (*resume)(void *opaque);
	/* The device's own guest-visible state (vmstate.h), after the core's. */
	void (*state)(void *opaque, struct vmstate *s);
	void (*stats)(void *opaque, const struct stats_sink *s);
	/* Without the lock: stop and join threads, close back ends, free the
	 * device's own state. The core frees the rest afterwards. */
	void (*destroy)(void *opaque);
};

/* Per-queue counters (stats). */
struct virtq_stats {
	uint64_t notifications;      /* driver -> device doorbells */
	uint64_t requests;           /* chains popped */
};

/* Transport-neutral state shared by the transport and the device. */
struct virtio_dev {
	const struct virtio_dev_ops *ops;
	void *opaque;
	struct vm *vm;
	struct guest_mem *mem;
	pthread_mutex_t lock;
	uint64_t host_features;      /* offered: ops->features + transport bits */
	uint64_t driver_features;    /* written by the driver */
	uint8_t status;
	uint32_t config_generation;
	bool paused;                 /* VM paused: no request is taken */
	uint64_t interrupts;         /* raised towards the driver */
	struct virtq *vq;            /* ops->nr_queues of them */
	struct virtq_stats *vq_stats;
	/* The transport (virtio-transport.h), chosen by the core. */
	const struct virtio_transport_ops *transport_ops;
	void *transport;
};

/* Create the device on the VM's virtio transport (the core picks it; only
 * virtio-mmio exists): window at p->base (0 = allocate), interrupt p->irq
 * (-1 = allocate), announced with vm_describe, one doorbell per queue.
 * 0 or -errno (message printed). The device's create returns *out as its
 * instance state, so that VIRTIO_DEVICE_OPS below drive its lifecycle. */
int virtio_plug(struct vm *vm, const struct dev_params *p, const struct virtio_dev_ops *ops,
		void *opaque, struct virtio_dev **out);
/* Undo virtio_plug when the device's create fails after it (the bus keeps
 * the window; the VM does not start). */
void virtio_unplug(struct virtio_dev *d);

static inline void virtio_lock(struct virtio_dev *d) { pthread_mutex_lock(&d->lock); }
static inline void virtio_unlock(struct virtio_dev *d) { pthread_mutex_unlock(&d->lock); }
static inline bool virtio_has_feature(const struct virtio_dev *d, unsigned bit)
{
	return d->driver_features & (1ULL << bit);
}
/* Whether the device may take and complete requests now. */
static inline bool virtio_running(const struct virtio_dev *d)
{
	return (d->status & VIRTIO_STATUS_DRIVER_OK) &&
	       !(d->status & VIRTIO_STATUS_DEVICE_NEEDS_RESET) && !d->paused;
}

/* Lock held. Pop from queue q: as virtq_pop_chain, but a broken ring sets
 * DEVICE_NEEDS_RESET (and returns -EPROTO), and a bad chain is completed
 * with length 0 and skipped, so callers only see 1 or 0 or -EPROTO. Returns
 * 0 while the device is paused or not running. */
int virtio_pop(struct virtio_dev *d, unsigned q, struct virtq_req *req);
/* Lock held. Complete a request and notify the driver if it wants it. */
void virtio_complete(struct virtio_dev *d, unsigned q, uint16_t head, uint32_t len);
/* Lock held. Notify for queue q if anything pushed since warrants it. */
void virtio_notify(struct virtio_dev *d, unsigned q);
/* Lock held. Device config changed (bumps ConfigGeneration, interrupts). */
void virtio_config_changed(struct virtio_dev *d);
/* Lock held. The device hit an error it cannot recover from without a
 * reset (2.1.2): set DEVICE_NEEDS_RESET and tell the driver. */
void virtio_needs_reset(struct virtio_dev *d, const char *why);
/* Lock held. Re-enable available-buffer notifications at the end of a
 * drain (virtq_enable_notify), unless paused: a paused device writes
 * nothing into guest RAM. True when more work arrived. */
bool virtio_drain_end(struct virtio_dev *d, unsigned q);

/* The device_ops lifecycle of every virtio device (state: the struct
 * virtio_dev from virtio_plug): transport registers, features, status,
 * config generation and queues here, the device's own part through its
 * virtio_dev_ops hooks. */
void virtio_device_reset(void *state);
void virtio_device_pause(void *state);
void virtio_device_resume(void *state);
int virtio_device_state(void *state, struct vmstate *s);
void virtio_device_stats(void *state, const struct stats_sink *s);
void virtio_device_destroy(void *state);

#define VIRTIO_DEVICE_OPS(model_name, create_fn)                                   \
	{                                                                          \
		.name = (model_name), .create = (create_fn),                       \
		.reset = virtio_device_reset, .pause = virtio_device_pause,        \
		.resume = virtio_device_resume, .state = virtio_device_state,      \
		.stats = virtio_device_stats, .destroy = virtio_device_destroy,    \
	}

#endif
