/* virtio-net (virtio 1.2, 5.1): an Ethernet card on a host back end.
 *
 * --net user[,hostfwd=tcp::HOSTPORT-:GUESTPORT] (libslirp) or --net tap:NAME.
 * One I/O thread per card polls the back end and an eventfd the vCPU kicks
 * on QueueNotify; it moves transmitted frames to the back end and received
 * frames into the guest's buffers and raises the interrupt, so the vCPU
 * never waits for the network. No offloads are offered: frames carry a
 * 12-byte virtio_net_hdr (5.1.6, VERSION_1 layout) that is all zeroes but
 * num_buffers. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "../host/net.h"
#include "../vm.h"
#include "virtio.h"

#define VIRTIO_NET_F_MAC 5
#define VIRTIO_NET_F_STATUS 16
#define VIRTIO_NET_S_LINK_UP 1

#define RXQ 0
#define TXQ 1
#define HDR_LEN 12        /* struct virtio_net_hdr with num_buffers */
#define QUEUE_SIZE 256
#define TX_BATCH 32
#define MAX_POLLFDS 256
#define CONFIG_SIZE 8     /* mac[6], status */

struct vnet {
	struct virtio_dev *vdev;
	struct net_backend *be;
	uint8_t config[CONFIG_SIZE];
	int kick;
	pthread_t thread;
	unsigned inflight;       /* TX requests being sent (lock) */
	pthread_cond_t idle;
	uint64_t rx_dropped, tx_dropped;
	struct virtq_req rx_req;
	struct virtq_req *tx[TX_BATCH];
	struct iovec iov[VIRTQ_MAX_SEGS];
};

static void net_config_read(void *opaque, uint32_t off, void *buf, unsigned len)
{
	struct vnet *n = opaque;

	memcpy(buf, n->config + off, len);
}

static void net_kick(struct vnet *n)
{
	uint64_t one = 1;

	if (write(n->kick, &one, sizeof(one)) < 0)
		debug("virtio-net: kick: %s", strerror(errno));
}

static void net_queue_notify(void *opaque, unsigned q)
{
	(void)q;  /* TX to send, or RX buffers posted: both wake the thread */
	net_kick(opaque);
}

static void net_start(void *opaque)
{
	net_kick(opaque);
}

static void net_reset(void *opaque)
{
	struct vnet *n = opaque;

	while (n->inflight)
		pthread_cond_wait(&n->idle, &n->vdev->lock);
}

/* Back end callbacks, on the I/O thread. */
static bool net_can_receive(void *opaque)
{
	struct vnet *n = opaque;
	bool ok;

	virtio_lock(n->vdev);
	ok = virtio_running(n->vdev) && virtq_pending(&n->vdev->vq[RXQ]) > 0;
	virtio_unlock(n->vdev);
	return ok;
}

static void net_receive(void *opaque, const uint8_t *frame, size_t len)
{
	struct vnet *n = opaque;
	struct virtio_dev *d = n->vdev;
	/* 5.1.6.4: no offloads, so only num_buffers (= 1) is set. */
	uint8_t hdr[HDR_LEN] = { [10] = 1 };
	uint32_t used = 0;

	virtio_lock(d);
	if (virtio_pop(d, RXQ, &n->rx_req) != 1) {
		n->rx_dropped++;
		goto out;
	}
	if (n->rx_req.in_len >= HDR_LEN + len) {
		virtq_req_write(d->mem, &n->rx_req, 0, hdr, HDR_LEN);
		virtq_req_write(d->mem, &n->rx_req, HDR_LEN, frame, len);
		used = (uint32_t)(HDR_LEN + len);
	} else {
		/* Buffers too small for the frame (5.1.6.3.1 asks drivers for
		 * 1526 bytes without offloads): the driver sees a short
		 * buffer and drops it. */
		n->rx_dropped++;
	}
	virtq_push_used(&d->vq[RXQ], n->rx_req.head, used);
	virtio_notify(d, RXQ);
out:
	virtio_unlock(d);
}

/* Send everything the driver queued for transmission. */
static void net_transmit(struct vnet *n)
{
	struct virtio_dev *d = n->vdev;
	struct virtq *vq = &d->vq[TXQ];

	virtio_lock(d);
	while (virtio_running(d)) {
		unsigned cnt = 0;
		virtq_disable_notify(vq);
		while (cnt < TX_BATCH && virtio_pop(d, TXQ, n->tx[cnt]) == 1)
			cnt++;
		if (cnt == 0) {
			if (!virtq_enable_notify(vq))
				break;
			continue;
		}
		n->inflight = cnt;
		virtio_unlock(d);
		for (unsigned i = 0; i < cnt; i++) {
			const struct virtq_req *r = n->tx[i];
			uint64_t got;
			int iovcnt;
			if (r->out_len <= HDR_LEN || r->out_len - HDR_LEN > NET_MAX_FRAME) {
				n->tx_dropped++;
				continue;
			}
			iovcnt = virtq_req_iov(r, false, HDR_LEN, r->out_len - HDR_LEN, n->iov,
					       VIRTQ_MAX_SEGS, &got);
			if (n->be->ops->send(n->be, n->iov, iovcnt))
				n->tx_dropped++;
		}
		virtio_lock(d);
		for (unsigned i = 0; i < cnt; i++)
			virtq_push_used(vq, n->tx[i]->head, 0);
		n->inflight = 0;
		pthread_cond_broadcast(&n->idle);
		virtio_notify(d, TXQ);
	}
	virtq_enable_notify(vq);
	virtio_unlock(d);
}

static void *net_thread(void *arg)
{
	struct vnet *n = arg;
	struct pollfd fds[MAX_POLLFDS];

	for (;;) {
		int cnt = 1, timeout = -1;
		bool room = net_can_receive(n);

		fds[0] = (struct pollfd){ .fd = n->kick, .events = POLLIN };
		n->be->ops->poll_prepare(n->be, fds, &cnt, MAX_POLLFDS, &timeout, room);
		if (poll(fds, cnt, timeout) < 0 && errno != EINTR) {
			warn("virtio-net: poll: %s", strerror(errno));
			break;
		}
		if (fds[0].revents & POLLIN) {
			uint64_t v;
			if (read(n->kick, &v, sizeof(v)) < 0 && errno != EAGAIN)
				debug("virtio-net: kick read: %s", strerror(errno));
		}
		net_transmit(n);
		n->be->ops->poll_dispatch(n->be, fds, 1, cnt);
	}
	return NULL;
}

static const struct virtio_dev_ops net_ops = {
	.name = "virtio-net",
	.device_id = VIRTIO_ID_NET,
	.nr_queues = 2,
	.queue_max = QUEUE_SIZE,
	.features = (1ULL << VIRTIO_NET_F_MAC) | (1ULL << VIRTIO_NET_F_STATUS),
	.config_size = CONFIG_SIZE,
	.config_read = net_config_read,
	.queue_notify = net_queue_notify,
	.start = net_start,
	.reset = net_reset,
};

static struct net_backend *open_backend(const char *spec)
{
	if (spec && !strncmp(spec, "tap:", 4))
		return tap_open(spec + 4);
	if (spec && (!strcmp(spec, "user") || !strncmp(spec, "user,", 5)))
		return slirp_open(spec + 4 + (spec[4] == ','));
	warn("virtio-net: bad --net '%s' (user[,hostfwd=tcp::HOSTPORT-:GUESTPORT] or tap:NAME)",
	     spec ? spec : "");
	return NULL;
}

static int net_create(struct vm *vm, const struct dev_params *p)
{
	static int instance;
	struct vnet *n;
	int err = -ENOMEM;

	n = calloc(1, sizeof(*n));
	if (!n)
		return -ENOMEM;
	n->kick = -1;
	n->be = open_backend(p->arg);
	if (!n->be) {
		err = -EINVAL;
		goto fail;
	}
	n->be->receive = net_receive;
	n->be->can_receive = net_can_receive;
	n->be->opaque = n;
	for (int i = 0; i < TX_BATCH; i++)
		if (!(n->tx[i] = malloc(sizeof(struct virtq_req))))
			goto fail;
	/* 52:54:00:12:34:56 (the address users of QEMU know), then :57... */
	memcpy(n->config, (uint8_t[]){ 0x52, 0x54, 0x00, 0x12, 0x34, 0x56 }, 6);
	n->config[5] += (uint8_t)instance++;
	n->config[6] = VIRTIO_NET_S_LINK_UP;
	pthread_cond_init(&n->idle, NULL);
	n->kick = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (n->kick < 0) {
		err = -errno;
		goto fail;
	}
	if ((err = virtio_plug(vm, p, &net_ops, n, &n->vdev)))
		goto fail;
	if (pthread_create(&n->thread, NULL, net_thread, n)) {
		warn("virtio-net: cannot start the I/O thread");
		return -EAGAIN;
	}
	return 0;
fail:
	if (n->be)
		n->be->ops->close(n->be);
	for (int i = 0; i < TX_BATCH; i++)
		free(n->tx[i]);
	if (n->kick >= 0)
		close(n->kick);
	free(n);
	return err;
}

static const struct device_model virtio_net = {
	.name = "virtio-net",
	.create = net_create,
};
DEVICE_MODEL(virtio_net)
