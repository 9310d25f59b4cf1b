/* virtio-rng (virtio 1.2, 5.4): the entropy device. One queue of writable
 * buffers, filled from the host's getrandom(). Requests are small and
 * getrandom(GRND_NONBLOCK) never waits, so they are served right on the
 * notifying thread (src/dev/README.md). */
#include <stdlib.h>
#include <sys/random.h>

#include "../stats.h"
#include "../vm.h"
#include "virtio.h"

/* 5.4.6: the device may hand back fewer bytes than the buffer holds; capping
 * keeps a hostile driver from making a vCPU fill gigabytes. */
#define MAX_PER_REQUEST 4096

struct vrng {
	struct virtio_dev *vdev;
	struct virtq_req req;
	uint64_t bytes;  /* lock */
};

/* Lock held. */
static void rng_fill(struct vrng *r)
{
	struct virtio_dev *d = r->vdev;
	uint8_t buf[MAX_PER_REQUEST];
	bool pushed = false;

	while (virtio_pop(d, 0, &r->req) == 1) {
		size_t want = r->req.in_len < sizeof(buf) ? (size_t)r->req.in_len : sizeof(buf);
		ssize_t got = want ? getrandom(buf, want, GRND_NONBLOCK) : 0;
		uint32_t len = 0;

		if (got > 0)
			len = (uint32_t)virtq_req_write(d->mem, &r->req, 0, buf, (size_t)got);
		virtq_push_used(&d->vq[0], r->req.head, len);
		r->bytes += len;
		pushed = true;
	}
	if (pushed)
		virtio_notify(d, 0);
}

static void rng_queue_notify(void *opaque, unsigned q)
{
	(void)q;
	rng_fill(opaque);
}

/* DRIVER_OK, or resume: requests posted meanwhile. */
static void rng_start(void *opaque)
{
	rng_fill(opaque);
}

static void rng_stats(void *opaque, const struct stats_sink *s)
{
	struct vrng *r = opaque;

	stats_put(s, "bytes", r->bytes);
}

static const struct virtio_dev_ops rng_ops = {
	.name = "virtio-rng",
	.device_id = VIRTIO_ID_RNG,
	.nr_queues = 1,
	.queue_max = 64,
	.queue_notify = rng_queue_notify,
	.start = rng_start,
	.resume = rng_start,
	.stats = rng_stats,
	.destroy = free,
};

static int rng_create(struct vm *vm, const struct dev_params *p, void **state)
{
	struct vrng *r = calloc(1, sizeof(*r));
	int err;

	if (!r)
		return -ENOMEM;
	if ((err = virtio_plug(vm, p, &rng_ops, r, &r->vdev))) {
		free(r);
		return err;
	}
	*state = r->vdev;
	return 0;
}

static const struct device_ops virtio_rng = VIRTIO_DEVICE_OPS("virtio-rng", rng_create);
DEVICE_MODEL(virtio_rng)
