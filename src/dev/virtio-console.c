/* virtio-console (virtio 1.2, 5.3), a single port without MULTIPORT: the
 * guest's hvc0 in para and hw modes, on the host console (vm->console).
 *
 * transmitq (1): the driver's output, handed to console_write on the
 * notifying thread (console_write does not wait on a reader: the one
 * exception to host I/O off the vCPU, src/dev/README.md).
 * receiveq (0): the driver posts empty buffers; host input arrives on the
 * event loop through rx_ready and fills them. While paused nothing is
 * delivered: the input waits in the console's ring (which then stops
 * reading its fd) until resume. Lock order: device, then console
 * (console.c calls rx_ready without its own lock). */
#include <stdlib.h>
#include <string.h>

#include "../host/console.h"
#include "../stats.h"
#include "../vm.h"
#include "virtio.h"

#define VIRTIO_CONSOLE_F_EMERG_WRITE 2
#define RXQ 0
#define TXQ 1
#define CHUNK 4096

struct vcon {
	struct virtio_dev *vdev;
	struct console *console;
	struct virtq_req req;
	uint8_t buf[CHUNK];
	uint64_t rx_bytes, tx_bytes;  /* lock */
};

/* struct virtio_console_config (5.3.4): cols, rows, max_nr_ports,
 * emerg_wr. Size is not offered, so cols/rows read as 0. */
#define CONFIG_SIZE 12

static void con_config_read(void *opaque, uint32_t off, void *buf, unsigned len)
{
	(void)opaque;
	(void)off;
	memset(buf, 0, len);  /* emerg_wr reads as 0, the rest is unused */
}

/* 5.3.4: a write to emerg_wr prints one character, even before the
 * queues are set up (early console). */
static void con_config_write(void *opaque, uint32_t off, const void *buf, unsigned len)
{
	struct vcon *c = opaque;

	if (off == 8 && len >= 1) {
		console_write(c->console, buf, 1);
		c->tx_bytes++;
	}
}

/* Lock held: everything the driver queued for output. */
static void con_transmit(struct vcon *c)
{
	struct virtio_dev *d = c->vdev;
	bool pushed = false;

	while (virtio_pop(d, TXQ, &c->req) == 1) {
		for (unsigned i = 0; i < c->req.nr_out; i++)
			console_write(c->console, c->req.seg[i].host, c->req.seg[i].len);
		c->tx_bytes += c->req.out_len;
		virtq_push_used(&d->vq[TXQ], c->req.head, 0);
		pushed = true;
	}
	if (pushed)
		virtio_notify(d, TXQ);
}

/* Lock held: move pending host input into posted receive buffers. */
static void con_receive(struct vcon *c)
{
	struct virtio_dev *d = c->vdev;
	struct virtq *vq = &d->vq[RXQ];
	bool pushed = false;

	while (virtio_running(d) && console_pending(c->console)) {
		size_t room, n;
		if (virtio_pop(d, RXQ, &c->req) != 1)
			break;
		room = c->req.in_len < CHUNK ? (size_t)c->req.in_len : CHUNK;
		n = console_read(c->console, c->buf, room);
		virtq_req_write(d->mem, &c->req, 0, c->buf, n);
		virtq_push_used(vq, c->req.head, (uint32_t)n);
		c->rx_bytes += n;
		pushed = true;
	}
	if (pushed)
		virtio_notify(d, RXQ);
}

static void con_rx_ready(void *opaque)
{
	struct vcon *c = opaque;

	virtio_lock(c->vdev);
	con_receive(c);
	virtio_unlock(c->vdev);
}

static void con_queue_notify(void *opaque, unsigned q)
{
	struct vcon *c = opaque;

	if (q == TXQ)
		con_transmit(c);
	else
		con_receive(c);
}

/* DRIVER_OK, or resume: output queued and input typed meanwhile. */
static void con_start(void *opaque)
{
	struct vcon *c = opaque;

	con_transmit(c);
	con_receive(c);
}

static void con_stats(void *opaque, const struct stats_sink *s)
{
	struct vcon *c = opaque;

	stats_put(s, "rx-bytes", c->rx_bytes);
	stats_put(s, "tx-bytes", c->tx_bytes);
}

/* The console outlives its devices: stop it calling us, then free. */
static void con_destroy(void *opaque)
{
	struct vcon *c = opaque;

	console_clear_receiver(c->console, c);
	free(c);
}

static const struct virtio_dev_ops con_ops = {
	.name = "virtio-console",
	.device_id = VIRTIO_ID_CONSOLE,
	.nr_queues = 2,
	.queue_max = 128,
	.features = 1ULL << VIRTIO_CONSOLE_F_EMERG_WRITE,
	.config_size = CONFIG_SIZE,
	.config_read = con_config_read,
	.config_write = con_config_write,
	.queue_notify = con_queue_notify,
	.start = con_start,
	.resume = con_start,
	.stats = con_stats,
	.destroy = con_destroy,
};

static int con_create(struct vm *vm, const struct dev_params *p, void **state)
{
	struct vcon *c;
	int err;

	if (!vm->console) {
		warn("virtio-console: the VM has no console");
		return -EINVAL;
	}
	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->console = vm->console;
	if ((err = virtio_plug(vm, p, &con_ops, c, &c->vdev))) {
		free(c);
		return err;
	}
	/* The guest's console input now comes here. */
	console_set_receiver(c->console, con_rx_ready, c);
	*state = c->vdev;
	return 0;
}

static const struct device_ops virtio_console = VIRTIO_DEVICE_OPS("virtio-console", con_create);
DEVICE_MODEL(virtio_console)
