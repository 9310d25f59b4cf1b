/* virtio-blk (virtio 1.2, 5.2): a raw image file as a disk.
 *
 * --disk FILE[,readonly]. Requests are served by the device's own I/O
 * thread (src/dev/README.md): the vCPU's QueueNotify only kicks an eventfd,
 * so the guest keeps running while the host reads or writes, and the
 * completion interrupt is raised from the I/O thread. Pause lets the thread
 * finish the batch it popped and pop no more; destroy stops and joins it. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "../host/blockfile.h"
#include "../stats.h"
#include "../vm.h"
#include "../vmstate.h"
#include "virtio.h"
#include "../host/seccomp.h"

/* Feature bits (5.2.3) */
#define VIRTIO_BLK_F_SEG_MAX 2
#define VIRTIO_BLK_F_RO 5
#define VIRTIO_BLK_F_BLK_SIZE 6
#define VIRTIO_BLK_F_FLUSH 9
#define VIRTIO_BLK_F_DISCARD 13
#define VIRTIO_BLK_F_WRITE_ZEROES 14

/* Request types and status (5.2.6) */
#define VIRTIO_BLK_T_IN 0
#define VIRTIO_BLK_T_OUT 1
#define VIRTIO_BLK_T_FLUSH 4
#define VIRTIO_BLK_T_GET_ID 8
#define VIRTIO_BLK_T_DISCARD 11
#define VIRTIO_BLK_T_WRITE_ZEROES 13
#define VIRTIO_BLK_S_OK 0
#define VIRTIO_BLK_S_IOERR 1
#define VIRTIO_BLK_S_UNSUPP 2

#define SECTOR 512
#define QUEUE_SIZE 256
#define SEG_MAX (QUEUE_SIZE - 2)   /* data segments besides header and status */
#define ID_BYTES 20                /* 5.2.6: GET_ID answers 20 bytes */
#define MAX_DISCARD_SECTORS (1u << 22)
#define MAX_DISCARD_SEG 32
#define BATCH 16
#define CONFIG_SIZE 60             /* up to write_zeroes_may_unmap + pad */

/* What served requests did (stats). */
struct blk_counts {
	uint64_t read_bytes, write_bytes, flushes, errors;
};

struct vblk {
	struct virtio_dev *vdev;
	struct blockfile *file;
	uint64_t sectors;
	char id[ID_BYTES];
	uint8_t config[CONFIG_SIZE];
	int kick;                     /* eventfd: QueueNotify -> I/O thread */
	pthread_t thread;
	bool thread_started;
	unsigned inflight;            /* popped, not yet completed (lock) */
	bool stopping;                /* destroy: the thread must end (lock) */
	pthread_cond_t idle;
	struct blk_counts counts;     /* lock */
	struct virtq_req *batch[BATCH];
	uint32_t used_len[BATCH];
	struct iovec iov[VIRTQ_MAX_SEGS];
};

static void put16(uint8_t *p, uint16_t v) { memcpy(p, &v, 2); }
static void put32(uint8_t *p, uint32_t v) { memcpy(p, &v, 4); }
static void put64(uint8_t *p, uint64_t v) { memcpy(p, &v, 8); }

/* Lay out struct virtio_blk_config (5.2.4), little-endian. */
static void build_config(struct vblk *b)
{
	uint8_t *c = b->config;

	memset(c, 0, sizeof(b->config));
	put64(c + 0, b->sectors);             /* capacity */
	put32(c + 12, SEG_MAX);               /* seg_max */
	put32(c + 20, SECTOR);                /* blk_size */
	put16(c + 34, 1);                     /* num_queues */
	put32(c + 36, MAX_DISCARD_SECTORS);   /* max_discard_sectors */
	put32(c + 40, MAX_DISCARD_SEG);       /* max_discard_seg */
	put32(c + 44, 1);                     /* discard_sector_alignment */
	put32(c + 48, MAX_DISCARD_SECTORS);   /* max_write_zeroes_sectors */
	put32(c + 52, MAX_DISCARD_SEG);       /* max_write_zeroes_seg */
}

static void blk_config_read(void *opaque, uint32_t off, void *buf, unsigned len)
{
	struct vblk *b = opaque;

	memcpy(buf, b->config + off, len);
}

static void blk_queue_notify(void *opaque, unsigned q)
{
	struct vblk *b = opaque;
	uint64_t one = 1;

	(void)q;
	if (write(b->kick, &one, sizeof(one)) < 0)
		debug("virtio-blk: kick: %s", strerror(errno));
}

static void blk_start(void *opaque)
{
	blk_queue_notify(opaque, 0);  /* buffers may already be waiting */
}

/* Lock held: wait until the I/O thread has handed back what it took. For
 * a reset, so nothing touches the old rings afterwards (4.2.2.1); for a
 * pause, so the completions are in guest RAM (virtio_pop already hands out
 * nothing more). */
static void blk_wait_idle(void *opaque)
{
	struct vblk *b = opaque;

	while (b->inflight)
		pthread_cond_wait(&b->idle, &b->vdev->lock);
}

/* Lock held: requests may have been posted while paused (or taken from
 * a snapshot); the thread looks again. */
static void blk_resume(void *opaque)
{
	blk_queue_notify(opaque, 0);
}

/* The device's own part of the snapshot: nothing the driver writes, but
 * the disk must be the one the state was saved with. */
static void blk_state(void *opaque, struct vmstate *s)
{
	struct vblk *b = opaque;
	uint64_t sectors = b->sectors;

	if (vms_version(s, 1) < 0)
		return;
	vms_u64(s, &sectors);
	vms_check(s, sectors == b->sectors, "virtio-blk capacity");
}

static void blk_stats(void *opaque, const struct stats_sink *s)
{
	struct vblk *b = opaque;

	stats_put(s, "read-bytes", b->counts.read_bytes);
	stats_put(s, "write-bytes", b->counts.write_bytes);
	stats_put(s, "flushes", b->counts.flushes);
	stats_put(s, "errors", b->counts.errors);
}

/* Sector range check written so it cannot overflow. */
static bool in_range(const struct vblk *b, uint64_t sector, uint64_t nsectors)
{
	return sector <= b->sectors && nsectors <= b->sectors - sector;
}

static uint8_t blk_rw(struct vblk *b, const struct virtq_req *req, uint32_t type,
		      uint64_t sector, uint32_t *written, struct blk_counts *c)
{
	bool in = type == VIRTIO_BLK_T_IN;
	uint64_t len = in ? req->in_len - 1 : req->out_len - 16, got;
	uint64_t data_off = in ? 0 : 16;
	int n, err;

	/* 5.2.6.1: data is a multiple of 512 bytes. */
	if (len % SECTOR || !in_range(b, sector, len / SECTOR))
		return VIRTIO_BLK_S_IOERR;
	if (!in && blockfile_readonly(b->file))
		return VIRTIO_BLK_S_IOERR;
	n = virtq_req_iov(req, in, data_off, len, b->iov, VIRTQ_MAX_SEGS, &got);
	if (got != len)
		return VIRTIO_BLK_S_IOERR;
	if (len == 0)
		return VIRTIO_BLK_S_OK;
	if (in) {
		err = blockfile_preadv(b->file, b->iov, n, sector * SECTOR);
		/* The data went straight into guest RAM. */
		for (unsigned i = req->nr_out; i < req->nr_out + req->nr_in; i++)
			virtio_dma_written(b->vdev->mem, req->seg[i].gpa, req->seg[i].len);
		if (!err) {
			*written = (uint32_t)len;
			c->read_bytes += len;
		}
	} else {
		err = blockfile_pwritev(b->file, b->iov, n, sector * SECTOR);
		if (!err)
			c->write_bytes += len;
	}
	if (err)
		debug("virtio-blk: %s at sector %llu: %s", in ? "read" : "write",
		      (unsigned long long)sector, strerror(-err));
	return err ? VIRTIO_BLK_S_IOERR : VIRTIO_BLK_S_OK;
}

/* DISCARD and WRITE_ZEROES carry a list of 16-byte ranges (5.2.6). */
static uint8_t blk_zero(struct vblk *b, const struct virtq_req *req, uint32_t type)
{
	uint64_t bytes = req->out_len - 16, nseg = bytes / 16;

	if (blockfile_readonly(b->file))
		return VIRTIO_BLK_S_IOERR;
	if (bytes % 16 || nseg == 0 || nseg > MAX_DISCARD_SEG)
		return VIRTIO_BLK_S_UNSUPP;
	for (uint64_t i = 0; i < nseg; i++) {
		struct { uint64_t sector; uint32_t num_sectors, flags; } r;
		int err;
		virtq_req_read(req, 16 + 16 * i, &r, sizeof(r));
		if (r.num_sectors > MAX_DISCARD_SECTORS || !in_range(b, r.sector, r.num_sectors))
			return VIRTIO_BLK_S_IOERR;
		/* 5.2.6.2: only bit 0 (unmap) is defined, and only for
		 * WRITE_ZEROES. */
		if (r.flags & ~(type == VIRTIO_BLK_T_WRITE_ZEROES ? 1u : 0u))
			return VIRTIO_BLK_S_UNSUPP;
		err = type == VIRTIO_BLK_T_DISCARD
			      ? blockfile_discard(b->file, r.sector * SECTOR, r.num_sectors * (uint64_t)SECTOR)
			      : blockfile_write_zeroes(b->file, r.sector * SECTOR,
						       r.num_sectors * (uint64_t)SECTOR);
		if (err)
			return VIRTIO_BLK_S_IOERR;
	}
	return VIRTIO_BLK_S_OK;
}

/* Serve one request without the lock; returns the used length. */
static uint32_t blk_handle(struct vblk *b, const struct virtq_req *req, struct blk_counts *c)
{
	struct { uint32_t type, reserved; uint64_t sector; } hdr;
	uint32_t written = 0;
	uint8_t status;

	/* 5.2.6: a 16-byte readable header and a writable status byte at
	 * the very end; anything else cannot even be answered. */
	if (req->out_len < 16 || req->in_len < 1)
		return 0;
	virtq_req_read(req, 0, &hdr, sizeof(hdr));
	switch (hdr.type) {
	case VIRTIO_BLK_T_IN:
	case VIRTIO_BLK_T_OUT:
		status = blk_rw(b, req, hdr.type, hdr.sector, &written, c);
		break;
	case VIRTIO_BLK_T_FLUSH:
		status = blockfile_flush(b->file) ? VIRTIO_BLK_S_IOERR : VIRTIO_BLK_S_OK;
		c->flushes++;
		break;
	case VIRTIO_BLK_T_GET_ID: {
		uint64_t n = req->in_len - 1 < ID_BYTES ? req->in_len - 1 : ID_BYTES;
		written = (uint32_t)virtq_req_write(b->vdev->mem, req, 0, b->id, n);
		status = VIRTIO_BLK_S_OK;
		break;
	}
	case VIRTIO_BLK_T_DISCARD:
	case VIRTIO_BLK_T_WRITE_ZEROES:
		status = blk_zero(b, req, hdr.type);
		break;
	default:
		status = VIRTIO_BLK_S_UNSUPP;
	}
	if (status != VIRTIO_BLK_S_OK)
		c->errors++;
	virtq_req_write(b->vdev->mem, req, req->in_len - 1, &status, 1);
	return written + 1;
}

static void *blk_thread(void *arg)
{
	struct vblk *b = arg;
	struct virtio_dev *d = b->vdev;
	struct virtq *vq = &d->vq[0];

	seccomp_enter(SECCOMP_BLK_WORKER);
	for (;;) {
		struct blk_counts c = { 0 };
		uint64_t cnt;
		if (read(b->kick, &cnt, sizeof(cnt)) < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			break;
		}
		virtio_lock(d);
		if (b->stopping) {
			virtio_unlock(d);
			break;
		}
		/* Paused or not running: virtio_pop gives nothing. */
		while (virtio_running(d)) {
			unsigned n = 0;
			/* 2.7.10: no notifications while we drain the ring. */
			virtq_disable_notify(vq);
			while (n < BATCH && virtio_pop(d, 0, b->batch[n]) == 1)
				n++;
			if (n == 0) {
				if (!virtio_drain_end(d, 0))
					break;
				continue;
			}
			b->inflight = n;
			virtio_unlock(d);
			for (unsigned i = 0; i < n; i++)
				b->used_len[i] = blk_handle(b, b->batch[i], &c);
			virtio_lock(d);
			for (unsigned i = 0; i < n; i++)
				virtq_push_used(vq, b->batch[i]->head, b->used_len[i]);
			b->counts.read_bytes += c.read_bytes;
			b->counts.write_bytes += c.write_bytes;
			b->counts.flushes += c.flushes;
			b->counts.errors += c.errors;
			c = (struct blk_counts){ 0 };
			b->inflight = 0;
			pthread_cond_broadcast(&b->idle);
			virtio_notify(d, 0);
		}
		virtio_drain_end(d, 0);
		virtio_unlock(d);
	}
	return NULL;
}

/* Without the lock: end the thread, then free what it used. */
static void blk_destroy(void *opaque)
{
	struct vblk *b = opaque;

	if (b->thread_started) {
		virtio_lock(b->vdev);
		b->stopping = true;
		virtio_unlock(b->vdev);
		blk_queue_notify(b, 0);
		pthread_join(b->thread, NULL);
	}
	blockfile_close(b->file);
	for (int i = 0; i < BATCH; i++)
		free(b->batch[i]);
	if (b->kick >= 0)
		close(b->kick);
	pthread_cond_destroy(&b->idle);
	free(b);
}

/* What the read-write and the read-only disk have in common. */
#define BLK_OPS_COMMON                          \
	.name = "virtio-blk",                   \
	.device_id = VIRTIO_ID_BLOCK,           \
	.nr_queues = 1,                         \
	.queue_max = QUEUE_SIZE,                \
	.config_size = CONFIG_SIZE,             \
	.config_read = blk_config_read,         \
	.queue_notify = blk_queue_notify,       \
	.start = blk_start,                     \
	.reset = blk_wait_idle,                 \
	.pause = blk_wait_idle,                 \
	.resume = blk_resume,                   \
	.state = blk_state,                     \
	.stats = blk_stats,                     \
	.destroy = blk_destroy,

static const struct virtio_dev_ops blk_ops_rw = {
	.features = (1ULL << VIRTIO_BLK_F_SEG_MAX) | (1ULL << VIRTIO_BLK_F_BLK_SIZE) |
		    (1ULL << VIRTIO_BLK_F_FLUSH) | (1ULL << VIRTIO_BLK_F_DISCARD) |
		    (1ULL << VIRTIO_BLK_F_WRITE_ZEROES),
	BLK_OPS_COMMON
};

/* 5.2.3: a read-only disk says so and drops the write-side features. */
static const struct virtio_dev_ops blk_ops_ro = {
	.features = (1ULL << VIRTIO_BLK_F_SEG_MAX) | (1ULL << VIRTIO_BLK_F_BLK_SIZE) |
		    (1ULL << VIRTIO_BLK_F_FLUSH) | (1ULL << VIRTIO_BLK_F_RO),
	BLK_OPS_COMMON
};

static int blk_create(struct vm *vm, const struct dev_params *p, void **state)
{
	struct vblk *b;
	char *path = NULL;
	const char *base;
	bool ro;
	int err;

	if ((err = blockfile_parse_spec("virtio-blk", p->arg, &path, &ro)))
		return err;
	b = calloc(1, sizeof(*b));
	if (!b) {
		free(path);
		return -ENOMEM;
	}
	b->kick = -1;
	pthread_cond_init(&b->idle, NULL);
	b->file = blockfile_open(path, ro, &err);
	if (!b->file) {
		warn("virtio-blk: cannot open disk image %s: %s", path, strerror(-err));
		goto fail;
	}
	b->sectors = blockfile_size(b->file) / SECTOR;
	/* The serial number: the image's base name, as much as fits. */
	base = strrchr(path, '/');
	base = base ? base + 1 : path;
	memcpy(b->id, base, strnlen(base, ID_BYTES));
	build_config(b);
	for (int i = 0; i < BATCH; i++) {
		b->batch[i] = malloc(sizeof(struct virtq_req));
		if (!b->batch[i]) {
			err = -ENOMEM;
			goto fail;
		}
	}
	b->kick = eventfd(0, EFD_CLOEXEC);
	if (b->kick < 0) {
		err = -errno;
		goto fail;
	}
	if ((err = virtio_plug(vm, p, ro ? &blk_ops_ro : &blk_ops_rw, b, &b->vdev)))
		goto fail;
	if ((err = -pthread_create(&b->thread, NULL, blk_thread, b))) {
		warn("virtio-blk: cannot start the I/O thread: %s", strerror(-err));
		virtio_unplug(b->vdev);
		goto fail;
	}
	b->thread_started = true;
	pthread_setname_np(b->thread, "virtio-blk");
	debug("virtio-blk: %s, %llu sectors%s", path, (unsigned long long)b->sectors,
	      ro ? ", read-only" : "");
	free(path);
	*state = b->vdev;
	return 0;
fail:
	blk_destroy(b);
	free(path);
	return err;
}

static const struct device_ops virtio_blk = VIRTIO_DEVICE_OPS("virtio-blk", blk_create);
DEVICE_MODEL(virtio_blk)
