/* Virtio 1.2 split virtqueues (2.7) and the transport-neutral device state.
 *
 * Everything here reads what a possibly hostile driver wrote into guest RAM.
 * Each value is copied once out of the ring and checked before use, so a
 * driver that rewrites a descriptor while we walk it changes nothing. A ring
 * we cannot trust any more (index running ahead, head out of range, rings
 * outside RAM) marks the queue broken and the device DEVICE_NEEDS_RESET
 * (2.1.2); a bad chain on a sound ring just fails that one request. */
#include "virtio.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../stats.h"
#include "../vm.h"
#include "../vmstate.h"
#include "virtio-transport.h"

/* ---- guest RAM helpers ------------------------------------------------- */

/* The region holding gpa, with the bytes left in it from gpa. */
static const struct mem_region *ram_at(const struct guest_mem *m, uint64_t gpa, uint64_t *left)
{
	for (int i = 0; i < m->nr_regions; i++) {
		const struct mem_region *r = &m->region[i];
		if (gpa >= r->gpa && gpa - r->gpa < r->size) {
			*left = r->size - (gpa - r->gpa);
			return r;
		}
	}
	return NULL;
}

void virtio_dma_written(struct guest_mem *mem, uint64_t gpa, uint64_t len)
{
	gmem_dma_written(mem, gpa, len);
}

/* ---- ring mapping ------------------------------------------------------ */

/* Ring parts live in guest RAM, each inside one region. Their host
 * pointers are recomputed and checked on every use rather than kept: the
 * driver may move a ring whenever the queue is not ready, and a loaded
 * snapshot or a reset changes the addresses without telling us. */
struct ring_map {
	uint8_t *desc, *avail, *used;
};

/* Checked on every use (a few compares); fails when the queue is not
 * ready or a ring is not wholly in RAM. */
static int virtq_map(struct virtq *vq, struct ring_map *rm)
{
	uint64_t n = vq->size;

	if (!vq->ready || !virtq_size_valid(vq->size, VIRTQ_MAX_SIZE))
		return -EPROTO;
	/* 2.7.1 alignment: we use 16- and 32-bit atomics on avail/used. */
	if ((vq->avail & 1) || (vq->used & 3))
		return -EPROTO;
	rm->desc = gmem_ptr(vq->mem, vq->desc, 16 * n);
	rm->avail = gmem_ptr(vq->mem, vq->avail, 6 + 2 * n);
	rm->used = gmem_ptr(vq->mem, vq->used, 6 + 8 * n);
	if (!rm->desc || !rm->avail || !rm->used)
		return -EPROTO;
	return 0;
}

static inline uint16_t load16_acquire(const uint8_t *p)
{
	return __atomic_load_n((const uint16_t *)p, __ATOMIC_ACQUIRE);
}

static inline uint16_t load16(const uint8_t *p)
{
	return __atomic_load_n((const uint16_t *)p, __ATOMIC_RELAXED);
}

static inline void store16(uint8_t *p, uint16_t v)
{
	__atomic_store_n((uint16_t *)p, v, __ATOMIC_RELAXED);
}

static int virtq_break(struct virtq *vq)
{
	vq->broken = true;
	return -EPROTO;
}

void virtq_reset(struct virtq *vq)
{
	struct guest_mem *mem = vq->mem;
	uint16_t max = vq->max_size;

	memset(vq, 0, sizeof(*vq));
	vq->mem = mem;
	vq->max_size = max;
	vq->size = max;  /* 4.2.2: QueueNum starts at the maximum */
	vq->notify_enabled = true;
}

int virtq_pending(struct virtq *vq)
{
	struct ring_map rm;
	uint16_t idx, n;

	if (vq->broken)
		return -EPROTO;
	/* A queue the driver never enabled is simply empty (some drivers leave
	 * queues unused). */
	if (!vq->ready)
		return 0;
	if (virtq_map(vq, &rm))
		return virtq_break(vq);
	/* The ring entries and descriptors are read after idx (2.7.13.3: the
	 * driver publishes them before idx; acquire pairs with its barrier). */
	idx = load16_acquire(rm.avail + 2);
	n = (uint16_t)(idx - vq->last_avail);
	/* 2.7.6: the driver can never have more than a queue's worth of
	 * buffers outstanding; a bigger jump is a corrupted index. */
	if (n > vq->size)
		return virtq_break(vq);
	return n;
}

/* ---- the chain walker -------------------------------------------------- */

/* Append [addr, addr+len) to req, split at RAM region edges. */
static int req_add(struct virtq *vq, struct virtq_req *req, uint64_t addr, uint32_t len,
		   bool writable)
{
	uint64_t *total = writable ? &req->in_len : &req->out_len;

	/* 2.7.4.2: device-writable buffers come after all readable ones. */
	if (!writable && req->nr_in)
		return -EINVAL;
	/* 2.7.5.2: a chain holds at most 2^32 bytes in total; also keeps every
	 * length we hand to a device within 32 bits. */
	if (len > UINT32_MAX - (req->out_len + req->in_len))
		return -EINVAL;
	*total += len;
	while (len) {
		uint64_t left;
		const struct mem_region *r = ram_at(vq->mem, addr, &left);
		uint32_t n = len;
		struct virtq_seg *s;

		if (!r)
			return -EINVAL;
		if (n > left)
			n = (uint32_t)left;
		if (req->nr_out + req->nr_in >= VIRTQ_MAX_SEGS)
			return -EINVAL;
		s = &req->seg[req->nr_out + req->nr_in];
		s->gpa = addr;
		s->len = n;
		s->host = r->host + (addr - r->gpa);
		if (writable)
			req->nr_in++;
		else
			req->nr_out++;
		addr += n;
		len -= n;
	}
	return 0;
}

/* Walk the chain starting at head. Direct descriptors come from the queue's
 * table; at most one of them (the last) may point to an indirect table. */
static int walk_chain(struct virtq *vq, const struct ring_map *rm, uint16_t head,
		      struct virtq_req *req)
{
	const uint8_t *table = rm->desc;
	uint32_t table_len = vq->size, i = head, seen = 0;
	bool indirect = false;

	for (;;) {
		struct virtq_desc d;
		int err;

		/* A loop (or a chain longer than its table) revisits a slot:
		 * counting is enough to stop it (2.7.5.2). */
		if (i >= table_len || ++seen > table_len)
			return -EINVAL;
		memcpy(&d, table + 16 * (size_t)i, sizeof(d));

		if (d.flags & VIRTQ_DESC_F_INDIRECT) {
			/* 2.7.5.3.1: only with the feature, never nested, never
			 * with NEXT; the table is whole descriptors. */
			if (!vq->indirect || indirect || (d.flags & VIRTQ_DESC_F_NEXT))
				return -EINVAL;
			if (d.len == 0 || d.len % 16 || d.len / 16 > VIRTQ_MAX_SEGS)
				return -EINVAL;
			table = gmem_ptr(vq->mem, d.addr, d.len);
			if (!table)
				return -EINVAL;
			table_len = d.len / 16;
			indirect = true;
			i = 0;
			seen = 0;
			continue;
		}
		err = req_add(vq, req, d.addr, d.len, d.flags & VIRTQ_DESC_F_WRITE);
		if (err)
			return err;
		if (!(d.flags & VIRTQ_DESC_F_NEXT))
			return 0;
		i = d.next;
	}
}

int virtq_pop_chain(struct virtq *vq, struct virtq_req *req)
{
	struct ring_map rm;
	uint16_t head;
	int n = virtq_pending(vq);

	if (n <= 0)
		return n;
	virtq_map(vq, &rm);  /* cannot fail: virtq_pending just did it */
	head = load16(rm.avail + 4 + 2 * (vq->last_avail % vq->size));
	vq->last_avail++;
	if (vq->event_idx && vq->notify_enabled) {
		/* 2.7.10: avail_event tells the driver which index to notify
		 * at; keep it just past what we consumed. */
		store16(rm.used + 4 + 8 * (size_t)vq->size, vq->last_avail);
		virtio_dma_written(vq->mem, vq->used + 4 + 8 * (uint64_t)vq->size, 2);
	}
	if (head >= vq->size)
		return virtq_break(vq);
	req->head = head;
	req->nr_out = req->nr_in = 0;
	req->out_len = req->in_len = 0;
	if (walk_chain(vq, &rm, head, req)) {
		req->nr_out = req->nr_in = 0;
		req->out_len = req->in_len = 0;
		return -EINVAL;
	}
	return 1;
}

int virtq_push_used(struct virtq *vq, uint16_t head, uint32_t len)
{
	struct ring_map rm;
	uint32_t elem[2] = { head, len };
	size_t slot;

	if (vq->broken || virtq_map(vq, &rm))
		return -EFAULT;
	slot = 4 + 8 * (size_t)(vq->used_idx % vq->size);
	memcpy(rm.used + slot, elem, sizeof(elem));
	vq->used_idx++;
	/* 2.7.8.2: the element (and the data it describes) must be visible
	 * before the new idx: release orders every earlier store. */
	__atomic_store_n((uint16_t *)(rm.used + 2), vq->used_idx, __ATOMIC_RELEASE);
	virtio_dma_written(vq->mem, vq->used + slot, 8);
	virtio_dma_written(vq->mem, vq->used + 2, 2);
	return 0;
}

bool virtq_should_notify(struct virtq *vq)
{
	struct ring_map rm;
	uint16_t old, cur, event;
	bool valid;

	if (vq->broken || virtq_map(vq, &rm))
		return false;
	/* The used idx store must be visible before we read the driver's
	 * suppression fields, or we race with it re-enabling interrupts
	 * (2.7.7; Linux calls this virtio_mb before the check). */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (!vq->event_idx)
		return !(load16(rm.avail) & VIRTQ_AVAIL_F_NO_INTERRUPT);
	old = vq->signalled_used;
	valid = vq->signalled_valid;
	cur = vq->used_idx;
	vq->signalled_used = cur;
	vq->signalled_valid = true;
	if (!valid)
		return true;
	/* 2.7.7.2 / 2.7.10: notify when used->idx moves past used_event, i.e.
	 * used_event lies in [old, cur). */
	event = load16(rm.avail + 4 + 2 * (size_t)vq->size);
	return (uint16_t)(cur - event - 1) < (uint16_t)(cur - old);
}

void virtq_disable_notify(struct virtq *vq)
{
	struct ring_map rm;

	vq->notify_enabled = false;
	if (vq->event_idx || vq->broken || virtq_map(vq, &rm))
		return;  /* with EVENT_IDX, a stale avail_event already mutes */
	store16(rm.used, VIRTQ_USED_F_NO_NOTIFY);
	virtio_dma_written(vq->mem, vq->used, 2);
}

bool virtq_enable_notify(struct virtq *vq)
{
	struct ring_map rm;

	vq->notify_enabled = true;
	if (vq->broken || virtq_map(vq, &rm))
		return false;
	if (vq->event_idx) {
		store16(rm.used + 4 + 8 * (size_t)vq->size, vq->last_avail);
		virtio_dma_written(vq->mem, vq->used + 4 + 8 * (uint64_t)vq->size, 2);
	} else {
		store16(rm.used, 0);
		virtio_dma_written(vq->mem, vq->used, 2);
	}
	/* A buffer the driver added before it saw our store would go without
	 * a notification: look again after a full barrier. */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	return virtq_pending(vq) != 0;
}

/* ---- request data ------------------------------------------------------ */

/* Copy between buf and the request's segments [first, end), starting off
 * bytes in: out of the guest (device-readable part) or, to_guest, into it
 * (device-writable part, reported to mem as DMA). */
static size_t req_copy(struct guest_mem *mem, bool to_guest, const struct virtq_req *req,
		       unsigned first, unsigned end, uint64_t off, uint8_t *buf, size_t len)
{
	size_t done = 0;

	for (unsigned i = first; i < end && done < len; i++) {
		const struct virtq_seg *s = &req->seg[i];
		size_t n;
		if (off >= s->len) {
			off -= s->len;
			continue;
		}
		n = s->len - off;
		if (n > len - done)
			n = len - done;
		if (to_guest) {
			memcpy(s->host + off, buf + done, n);
			virtio_dma_written(mem, s->gpa + off, n);
		} else {
			memcpy(buf + done, s->host + off, n);
		}
		done += n;
		off = 0;
	}
	return done;
}

size_t virtq_req_read(const struct virtq_req *req, uint64_t off, void *buf, size_t len)
{
	return req_copy(NULL, false, req, 0, req->nr_out, off, buf, len);
}

size_t virtq_req_write(struct guest_mem *mem, const struct virtq_req *req, uint64_t off,
		       const void *buf, size_t len)
{
	return req_copy(mem, true, req, req->nr_out, req->nr_out + req->nr_in, off, (uint8_t *)buf, len);
}

int virtq_req_iov(const struct virtq_req *req, bool in, uint64_t off, uint64_t len,
		  struct iovec *iov, int max, uint64_t *got)
{
	unsigned first = in ? req->nr_out : 0, end = in ? req->nr_out + req->nr_in : req->nr_out;
	int n = 0;

	*got = 0;
	for (unsigned i = first; i < end && n < max && *got < len; i++) {
		const struct virtq_seg *s = &req->seg[i];
		uint64_t k;
		if (off >= s->len) {
			off -= s->len;
			continue;
		}
		k = s->len - off;
		if (k > len - *got)
			k = len - *got;
		iov[n].iov_base = s->host + off;
		iov[n].iov_len = k;
		n++;
		*got += k;
		off = 0;
	}
	return n;
}

/* ---- device state ------------------------------------------------------ */

#define TRANSPORT_FEATURES                                                   \
	((1ULL << VIRTIO_F_VERSION_1) | (1ULL << VIRTIO_F_RING_INDIRECT_DESC) | \
	 (1ULL << VIRTIO_F_RING_EVENT_IDX))

/* Status bits a device can hold (2.1). */
#define STATUS_BITS                                                                \
	(VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_DRIVER_OK | \
	 VIRTIO_STATUS_FEATURES_OK | VIRTIO_STATUS_DEVICE_NEEDS_RESET | VIRTIO_STATUS_FAILED)

static void virtio_interrupt(struct virtio_dev *d, uint32_t cause)
{
	d->interrupts++;
	d->transport_ops->interrupt(d, cause);
}

static void dev_init(struct virtio_dev *d, struct vm *vm, const struct virtio_dev_ops *ops,
		     void *opaque, struct virtq *queues, struct virtq_stats *stats)
{
	memset(d, 0, sizeof(*d));
	d->ops = ops;
	d->opaque = opaque;
	d->vm = vm;
	d->mem = &vm->mem;
	pthread_mutex_init(&d->lock, NULL);
	d->host_features = ops->features | TRANSPORT_FEATURES;
	d->vq = queues;
	d->vq_stats = stats;
	for (unsigned i = 0; i < ops->nr_queues; i++) {
		queues[i].mem = &vm->mem;
		queues[i].max_size = ops->queue_max;
		virtq_reset(&queues[i]);
	}
}

/* The device, its queues and their counters in one allocation. */
struct virtio_alloc {
	struct virtio_dev dev;
	struct virtq_stats stats[VIRTIO_MAX_QUEUES];
	struct virtq queues[];
};

int virtio_plug(struct vm *vm, const struct dev_params *p, const struct virtio_dev_ops *ops,
		void *opaque, struct virtio_dev **out)
{
	/* The only transport so far; PCI would be chosen here, from the
	 * board or the user's configuration, never by the device. */
	const struct virtio_transport_ops *t = &virtio_mmio_transport;
	struct virtio_alloc *a;
	int err;

	if (ops->nr_queues == 0 || ops->nr_queues > VIRTIO_MAX_QUEUES ||
	    !virtq_size_valid(ops->queue_max, VIRTQ_MAX_SIZE)) {
		warn("%s: bad queue layout in the device model", ops->name);
		return -EINVAL;
	}
	a = calloc(1, sizeof(*a) + ops->nr_queues * sizeof(struct virtq));
	if (!a)
		return -ENOMEM;
	dev_init(&a->dev, vm, ops, opaque, a->queues, a->stats);
	a->dev.transport_ops = t;
	if ((err = t->plug(&a->dev, p))) {
		pthread_mutex_destroy(&a->dev.lock);
		free(a);
		return err;
	}
	*out = &a->dev;
	return 0;
}

void virtio_unplug(struct virtio_dev *d)
{
	if (!d)
		return;
	d->transport_ops->destroy(d);
	pthread_mutex_destroy(&d->lock);
	free(d);  /* d is the first member of its struct virtio_alloc */
}

void virtio_dev_reset(struct virtio_dev *d)
{
	/* The device first, so its I/O threads finish with the old rings
	 * before the queues forget them (4.2.2.1, 2.4.1). */
	if (d->ops->reset)
		d->ops->reset(d->opaque);
	for (unsigned i = 0; i < d->ops->nr_queues; i++)
		virtq_reset(&d->vq[i]);
	d->driver_features = 0;
	d->status = 0;
}

/* 3.1.1: what FEATURES_OK may stand for: only bits we offered, and
 * VERSION_1 (we do not speak the legacy interface). */
static bool features_acceptable(const struct virtio_dev *d)
{
	return !(d->driver_features & ~d->host_features) &&
	       (d->driver_features & (1ULL << VIRTIO_F_VERSION_1));
}

static void queues_take_features(struct virtio_dev *d)
{
	for (unsigned i = 0; i < d->ops->nr_queues; i++) {
		d->vq[i].event_idx = virtio_has_feature(d, VIRTIO_F_RING_EVENT_IDX);
		d->vq[i].indirect = virtio_has_feature(d, VIRTIO_F_RING_INDIRECT_DESC);
	}
}

void virtio_dev_set_status(struct virtio_dev *d, uint8_t status)
{
	uint8_t old = d->status;

	if (status == 0) {
		virtio_dev_reset(d);
		return;
	}
	/* 3.1.1: FEATURES_OK sticks only if we support what the driver chose. */
	if ((status & VIRTIO_STATUS_FEATURES_OK) && !(old & VIRTIO_STATUS_FEATURES_OK)) {
		if (!features_acceptable(d))
			status &= ~VIRTIO_STATUS_FEATURES_OK;
		queues_take_features(d);
	}
	/* The driver cannot clear DEVICE_NEEDS_RESET except by a reset. */
	d->status = status | (old & VIRTIO_STATUS_DEVICE_NEEDS_RESET);
	if ((status & VIRTIO_STATUS_DRIVER_OK) && !(old & VIRTIO_STATUS_DRIVER_OK) &&
	    (status & VIRTIO_STATUS_FEATURES_OK) && d->ops->start)
		d->ops->start(d->opaque);
}

void virtio_queue_notified(struct virtio_dev *d, unsigned q)
{
	if (q >= d->ops->nr_queues)
		return;
	d->vq_stats[q].notifications++;
	if (d->vq[q].ready && virtio_running(d) && d->ops->queue_notify)
		d->ops->queue_notify(d->opaque, q);
}

void virtio_needs_reset(struct virtio_dev *d, const char *why)
{
	if (d->status & VIRTIO_STATUS_DEVICE_NEEDS_RESET)
		return;
	warn("%s: %s; device needs reset", d->ops->name, why);
	d->status |= VIRTIO_STATUS_DEVICE_NEEDS_RESET;
	/* 2.1.2: with DRIVER_OK set, tell the driver by a config change. */
	if (d->status & VIRTIO_STATUS_DRIVER_OK)
		virtio_interrupt(d, 2);
}

int virtio_pop(struct virtio_dev *d, unsigned q, struct virtq_req *req)
{
	struct virtq *vq;

	if (q >= d->ops->nr_queues || !virtio_running(d))
		return 0;
	vq = &d->vq[q];
	for (;;) {
		int r = virtq_pop_chain(vq, req);
		if (r == -EINVAL) {
			/* A bad chain on a sound ring: give it back empty. */
			debug("%s: queue %u: malformed chain at head %u", d->ops->name, q,
			      req->head);
			virtq_push_used(vq, req->head, 0);
			virtio_notify(d, q);
			continue;
		}
		if (r == -EPROTO) {
			char why[48];
			snprintf(why, sizeof(why), "queue %u ring is malformed", q);
			virtio_needs_reset(d, why);
		}
		if (r == 1)
			d->vq_stats[q].requests++;
		return r;
	}
}

bool virtio_drain_end(struct virtio_dev *d, unsigned q)
{
	if (q >= d->ops->nr_queues || d->paused)
		return false;
	return virtq_enable_notify(&d->vq[q]);
}

void virtio_notify(struct virtio_dev *d, unsigned q)
{
	if (q < d->ops->nr_queues && virtq_should_notify(&d->vq[q]))
		virtio_interrupt(d, 1);
}

void virtio_complete(struct virtio_dev *d, unsigned q, uint16_t head, uint32_t len)
{
	if (q >= d->ops->nr_queues)
		return;
	if (virtq_push_used(&d->vq[q], head, len) == 0)
		virtio_notify(d, q);
}

void virtio_config_changed(struct virtio_dev *d)
{
	d->config_generation++;
	if (d->status & VIRTIO_STATUS_DRIVER_OK)
		virtio_interrupt(d, 2);
}

/* ---- lifecycle (device_ops of every virtio device) ---------------------- */

/* Lock held: the power-on state of device, queues and transport. */
static void power_on(struct virtio_dev *d)
{
	virtio_dev_reset(d);
	d->config_generation = 0;
	d->transport_ops->reset(d);
}

void virtio_device_reset(void *state)
{
	struct virtio_dev *d = state;

	virtio_lock(d);
	power_on(d);
	virtio_unlock(d);
}

void virtio_device_pause(void *state)
{
	struct virtio_dev *d = state;

	virtio_lock(d);
	/* From here virtio_pop hands out nothing; the device then waits for
	 * what it already took (its requests complete into guest RAM). */
	d->paused = true;
	if (d->ops->pause)
		d->ops->pause(d->opaque);
	virtio_unlock(d);
}

void virtio_device_resume(void *state)
{
	struct virtio_dev *d = state;

	virtio_lock(d);
	d->paused = false;
	if (d->ops->resume)
		d->ops->resume(d->opaque);
	virtio_unlock(d);
}

/* One queue: what the driver set up (4.2.2: QueueNum, QueueReady, the three
 * ring addresses) and the device's cursors into the rings. */
static void queue_state(struct virtq *vq, struct vmstate *s)
{
	vms_u16(s, &vq->size);
	vms_check(s, virtq_size_valid(vq->size, vq->max_size), "virtio queue size");
	vms_bool(s, &vq->ready);
	vms_u64(s, &vq->desc);
	vms_u64(s, &vq->avail);
	vms_u64(s, &vq->used);
	vms_bool(s, &vq->broken);
	vms_bool(s, &vq->notify_enabled);
	vms_u16(s, &vq->last_avail);
	vms_u16(s, &vq->used_idx);
	/* Every device completes what it popped before its pause returns, so
	 * a sound queue has nothing in flight in a snapshot: a gap would be
	 * buffers the driver waits for forever. (A broken queue may have
	 * consumed a bad head without returning it.) */
	vms_check(s, vq->broken || vq->last_avail == vq->used_idx, "virtio queue in-flight count");
	vms_u16(s, &vq->signalled_used);
	vms_bool(s, &vq->signalled_valid);
}

int virtio_device_state(void *state, struct vmstate *s)
{
	struct virtio_dev *d = state;
	uint32_t id = d->ops->device_id, nq = d->ops->nr_queues;
	uint64_t offered = d->host_features;
	int err;

	virtio_lock(d);
	if (vms_version(s, 1) < 0)
		goto out;
	/* The snapshot must be of this very device model and configuration
	 * (a read-only disk offers other features than a writable one). */
	vms_u32(s, &id);
	vms_check(s, id == d->ops->device_id, "virtio device id");
	vms_u32(s, &nq);
	vms_check(s, nq == d->ops->nr_queues, "virtio queue count");
	vms_u64(s, &offered);
	vms_check(s, offered == d->host_features, "virtio offered features");
	if (vms_error(s))
		goto out;
	vms_u64(s, &d->driver_features);
	vms_u8(s, &d->status);
	vms_check(s, !(d->status & ~STATUS_BITS), "virtio status");
	vms_check(s, !(d->status & VIRTIO_STATUS_FEATURES_OK) || features_acceptable(d),
		  "virtio negotiated features");
	vms_u32(s, &d->config_generation);
	d->transport_ops->state(d, s);
	for (unsigned i = 0; i < d->ops->nr_queues && !vms_error(s); i++)
		queue_state(&d->vq[i], s);
	if (d->ops->state && !vms_error(s))
		d->ops->state(d->opaque, s);
out:
	err = vms_error(s);
	if (s->loading) {
		if (err) {
			/* Half a state is no state: back to power-on. */
			warn("%s: saved state refused (%s); device reset", d->ops->name,
			     strerror(-err));
			power_on(d);
		} else {
			queues_take_features(d);
		}
	}
	virtio_unlock(d);
	return err;
}

void virtio_device_stats(void *state, const struct stats_sink *s)
{
	struct virtio_dev *d = state;
	char name[32];

	virtio_lock(d);
	stats_put(s, "interrupts", d->interrupts);
	for (unsigned i = 0; i < d->ops->nr_queues; i++) {
		snprintf(name, sizeof(name), "queue%u-notifications", i);
		stats_put(s, name, d->vq_stats[i].notifications);
		snprintf(name, sizeof(name), "queue%u-requests", i);
		stats_put(s, name, d->vq_stats[i].requests);
	}
	if (d->ops->stats)
		d->ops->stats(d->opaque, s);
	virtio_unlock(d);
}

void virtio_device_destroy(void *state)
{
	struct virtio_dev *d = state;

	if (!d)
		return;
	/* The device's threads first: they use the queues and the lock. */
	if (d->ops->destroy)
		d->ops->destroy(d->opaque);
	virtio_unplug(d);
}
