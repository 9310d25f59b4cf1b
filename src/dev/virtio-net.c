/* virtio-net (virtio 1.2, 5.1): an Ethernet card on a host back end.
 *
 * --net user[,hostfwd=tcp::HOSTPORT-:GUESTPORT] (libslirp) or --net tap:NAME.
 * One I/O thread per card polls the back end and an eventfd the vCPU kicks
 * on QueueNotify; it moves transmitted frames to the back end and received
 * frames into the guest's buffers and raises the interrupt, so the vCPU
 * never waits for the network (src/dev/README.md). While the VM is paused
 * the thread parks: it polls only its eventfd, so the back end is neither
 * read nor run (tap frames wait in the kernel, slirp's sockets and timers
 * wait too) and nothing is transmitted.
 *
 * Offloads (5.1.3, 5.1.6.2): the guest may leave TCP/UDP checksums
 * (VIRTIO_NET_F_CSUM) and TCPv4 segmentation (HOST_TSO4) to us; we finish
 * both in native code (netoffload.c, shared with the e1000). A back end
 * that is an IP stack (slirp, net.h takes_large_tcp4) gets the guest's
 * whole TSO segment in one frame, so it acknowledges it once, not once per
 * MSS; a wire (tap) gets MTU-sized segments. Received frames are marked
 * DATA_VALID (GUEST_CSUM) when their checksum is known good: all of
 * slirp's, which its own stack built, and those we verified. No HOST_TSO6,
 * ECN, GUEST_TSO4 or MRG_RXBUF: slirp hands us MTU-sized frames anyway. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "../host/net.h"
#include "netoffload.h"
#include "../stats.h"
#include "../vm.h"
#include "../vmstate.h"
#include "virtio.h"
#include "../host/seccomp.h"

#define VIRTIO_NET_F_CSUM 0
#define VIRTIO_NET_F_GUEST_CSUM 1
#define VIRTIO_NET_F_MAC 5
#define VIRTIO_NET_F_HOST_TSO4 11
#define VIRTIO_NET_F_STATUS 16
#define VIRTIO_NET_S_LINK_UP 1

/* struct virtio_net_hdr (5.1.6) */
#define VIRTIO_NET_HDR_F_NEEDS_CSUM 1
#define VIRTIO_NET_HDR_F_DATA_VALID 2
#define VIRTIO_NET_HDR_GSO_NONE 0
#define VIRTIO_NET_HDR_GSO_TCPV4 1
struct net_hdr {
	uint8_t flags, gso_type;
	uint16_t hdr_len, gso_size, csum_start, csum_offset, num_buffers;
};

#define ETH_HLEN 14
/* A TSO frame holds up to 64 KiB of IP packet (5.1.6.2). */
#define TX_MAX_FRAME (ETH_HLEN + 65536)

#define RXQ 0
#define TXQ 1
#define HDR_LEN 12        /* struct virtio_net_hdr with num_buffers */
#define QUEUE_SIZE 256
#define TX_BATCH 32
#define MAX_POLLFDS 256
#define CONFIG_SIZE 8     /* mac[6], status */
/* Frames the back end delivered in the instant between a pause and the
 * thread parking: kept for resume rather than dropped. */
#define MAX_HELD 16

/* Frames and bytes one way. */
struct net_counts {
	uint64_t frames, bytes, dropped;
	uint64_t tso;            /* transmit: TSO requests sent (whole or cut) */
};

struct held_frame {
	size_t len;
	uint8_t *data;
};

struct vnet {
	struct virtio_dev *vdev;
	struct net_backend *be;
	uint8_t config[CONFIG_SIZE];
	int kick;
	pthread_t thread;
	bool thread_started;
	bool stopping;           /* destroy: the thread must end (lock) */
	bool parked;             /* the thread saw the pause (lock) */
	unsigned inflight;       /* TX requests being sent (lock) */
	pthread_cond_t idle;
	struct net_counts rx_count, tx_count;  /* lock */
	uint64_t tso_seen;
	struct held_frame held[MAX_HELD];
	unsigned nr_held;             /* lock */
	struct virtq_req rx_req;
	struct virtq_req *tx[TX_BATCH];
	uint8_t frame[TX_MAX_FRAME];    /* one transmitted frame, linearised */
	uint8_t seg[ETH_HLEN + 60 + 60 + 65536];  /* one TSO segment */
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

static void drop_held(struct vnet *n)
{
	for (unsigned i = 0; i < n->nr_held; i++)
		free(n->held[i].data);
	n->nr_held = 0;
}

/* Lock held: the transmit batch the thread took is handed back. A reset
 * also forgets held frames: they were for the old driver. */
static void net_reset(void *opaque)
{
	struct vnet *n = opaque;

	while (n->inflight)
		pthread_cond_wait(&n->idle, &n->vdev->lock);
	drop_held(n);
}

/* Lock held, paused set: wait until the thread is parked (it took the
 * lock at the top of its loop and saw paused), so the back end is idle and
 * nothing more reaches guest RAM. */
static void net_pause(void *opaque)
{
	struct vnet *n = opaque;

	net_kick(n);
	while (n->thread_started && (n->inflight || !n->parked))
		pthread_cond_wait(&n->idle, &n->vdev->lock);
}

static void net_resume(void *opaque)
{
	net_kick(opaque);
}

/* Guest-visible: the config space (MAC, link status). */
static void net_state(void *opaque, struct vmstate *s)
{
	struct vnet *n = opaque;

	if (vms_version(s, 1) < 0)
		return;
	vms_bytes(s, n->config, 6);
	vms_u8(s, &n->config[6]);
	vms_check(s, n->config[6] <= VIRTIO_NET_S_LINK_UP, "virtio-net link status");
}

static void net_stats(void *opaque, const struct stats_sink *s)
{
	struct vnet *n = opaque;

	stats_put(s, "rx-frames", n->rx_count.frames);
	stats_put(s, "rx-bytes", n->rx_count.bytes);
	stats_put(s, "rx-dropped", n->rx_count.dropped);
	stats_put(s, "tx-frames", n->tx_count.frames);
	stats_put(s, "tx-bytes", n->tx_count.bytes);
	stats_put(s, "tx-dropped", n->tx_count.dropped);
	stats_put(s, "tx-tso", n->tx_count.tso);
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

static bool rx_l4_csum_good(const uint8_t *frame, size_t len)
{
	unsigned r = net_rx_csum(frame, len, true);

	return (r & NET_RX_L4) && !(r & (NET_RX_IP_BAD | NET_RX_L4_BAD));
}

/* Lock held: one frame into the next receive buffer. */
static void deliver(struct vnet *n, const uint8_t *frame, size_t len)
{
	struct virtio_dev *d = n->vdev;
	/* 5.1.6.4: one buffer per frame (no MRG_RXBUF), checksums known good. */
	uint8_t hdr[HDR_LEN] = { [10] = 1 };
	uint32_t used = 0;

	/* 5.1.6.4: DATA_VALID only for a checksum known good: every frame
	 * of a back end that builds its own (slirp), else a TCP/UDP one we
	 * checked here, in native code; the rest the guest checks itself. */
	if (virtio_has_feature(d, VIRTIO_NET_F_GUEST_CSUM) &&
	    (n->be->rx_csum_valid || rx_l4_csum_good(frame, len)))
		hdr[0] = VIRTIO_NET_HDR_F_DATA_VALID;
	if (virtio_pop(d, RXQ, &n->rx_req) != 1) {
		n->rx_count.dropped++;
		return;
	}
	if (n->rx_req.in_len >= HDR_LEN + len) {
		virtq_req_write(d->mem, &n->rx_req, 0, hdr, HDR_LEN);
		virtq_req_write(d->mem, &n->rx_req, HDR_LEN, frame, len);
		used = (uint32_t)(HDR_LEN + len);
		n->rx_count.frames++;
		n->rx_count.bytes += len;
	} else {
		/* Buffers too small for the frame (5.1.6.3.1 asks drivers for
		 * 1526 bytes without offloads): the driver sees a short
		 * buffer and drops it. */
		n->rx_count.dropped++;
	}
	virtq_push_used(&d->vq[RXQ], n->rx_req.head, used);
	virtio_notify(d, RXQ);
}

static void net_receive(void *opaque, const uint8_t *frame, size_t len)
{
	struct vnet *n = opaque;
	struct virtio_dev *d = n->vdev;

	virtio_lock(d);
	if (d->paused && n->nr_held < MAX_HELD) {
		struct held_frame *h = &n->held[n->nr_held];
		if ((h->data = malloc(len ? len : 1))) {
			memcpy(h->data, frame, len);
			h->len = len;
			n->nr_held++;
		} else {
			n->rx_count.dropped++;
		}
	} else {
		deliver(n, frame, len);
	}
	virtio_unlock(d);
}

/* Lock held, not paused: frames kept across a pause go first. */
static void deliver_held(struct vnet *n)
{
	for (unsigned i = 0; i < n->nr_held; i++) {
		deliver(n, n->held[i].data, n->held[i].len);
		free(n->held[i].data);
	}
	n->nr_held = 0;
}

/* ---- transmit offloads (netoffload.c) --------------------------------- */

/* One request's frames on their way to the back end. */
struct tx_out {
	struct vnet *n;
	struct net_counts *c;
	int err;
};

static void send_frame(void *opaque, uint8_t *buf, size_t len)
{
	struct tx_out *o = opaque;
	struct iovec iov = { buf, len };

	if (o->err)
		return;         /* a segment was lost: the request is dropped */
	if ((o->err = o->n->be->ops->send(o->n->be, &iov, 1)))
		return;
	o->c->frames++;
	o->c->bytes += len;
}

/* 5.1.6.2 GSO_TCPV4: the headers are read from the frame itself (hdr_len
 * is only a hint without GUEST_HDRLEN) and must be Ethernet II, IPv4, TCP,
 * all inside the frame; gso_size is the MSS. Malformed: dropped. */
static int send_tso4(struct tx_out *o, uint8_t *f, size_t len, unsigned mss)
{
	const uint8_t *ip = f + ETH_HLEN;
	struct net_tso t = { .ipcss = ETH_HLEN, .mss = mss, .ipv4 = true };

	if (len < ETH_HLEN + 20 || net_get_be16(f + 12) != 0x0800 || (ip[0] >> 4) != 4 ||
	    ip[9] != 6)
		return -EINVAL;
	t.tucss = ETH_HLEN + (ip[0] & 15) * 4u;
	if (t.tucss + 20 > len)
		return -EINVAL;
	t.hdr_len = t.tucss + (f[t.tucss + 12] >> 4) * 4u;
	if (net_tso_send(o->n->be, f, len, &t, o->n->seg, sizeof(o->n->seg), send_frame, o) < 0)
		return -EINVAL;
	return o->err;
}

/* One transmit request, without the device lock: strip the virtio header,
 * finish checksum or segmentation, hand the frame(s) to the back end. What
 * was sent or dropped is counted in *c. */
static void net_send_request(struct vnet *n, const struct virtq_req *r, struct net_counts *c)
{
	struct net_hdr h;
	struct tx_out o = { n, c, 0 };
	size_t len;
	int err = -EINVAL;

	if (r->out_len <= HDR_LEN || r->out_len - HDR_LEN > TX_MAX_FRAME) {
		c->dropped++;
		return;
	}
	len = (size_t)(r->out_len - HDR_LEN);
	virtq_req_read(r, 0, &h, HDR_LEN);
	virtq_req_read(r, HDR_LEN, n->frame, len);
	if (h.gso_type == VIRTIO_NET_HDR_GSO_TCPV4) {
		if (!n->tso_seen++)
			debug("virtio-net: first TSO frame, %zu bytes, mss %u", len, h.gso_size);
		err = send_tso4(&o, n->frame, len, h.gso_size);
		if (!err)
			c->tso++;
	} else if (h.gso_type == VIRTIO_NET_HDR_GSO_NONE) {
		/* 5.1.6.2: checksum from csum_start to the end, stored at
		 * csum_start + csum_offset (which holds the pseudo-header
		 * sum already); a field outside the frame: dropped. */
		if ((h.flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) &&
		    net_csum_insert(n->frame, len, h.csum_start, len,
				    (size_t)h.csum_start + h.csum_offset))
			goto drop;
		send_frame(&o, n->frame, len);
		err = o.err;
	}
drop:
	if (err)
		c->dropped++;
}

/* Send everything the driver queued for transmission. */
static void net_transmit(struct vnet *n)
{
	struct virtio_dev *d = n->vdev;
	struct virtq *vq = &d->vq[TXQ];

	virtio_lock(d);
	while (virtio_running(d)) {
		struct net_counts c = { 0 };
		unsigned cnt = 0;
		virtq_disable_notify(vq);
		while (cnt < TX_BATCH && virtio_pop(d, TXQ, n->tx[cnt]) == 1)
			cnt++;
		if (cnt == 0) {
			if (!virtio_drain_end(d, TXQ))
				break;
			continue;
		}
		n->inflight = cnt;
		virtio_unlock(d);
		for (unsigned i = 0; i < cnt; i++)
			net_send_request(n, n->tx[i], &c);
		virtio_lock(d);
		for (unsigned i = 0; i < cnt; i++)
			virtq_push_used(vq, n->tx[i]->head, 0);
		n->tx_count.frames += c.frames;
		n->tx_count.bytes += c.bytes;
		n->tx_count.dropped += c.dropped;
		n->tx_count.tso += c.tso;
		n->inflight = 0;
		pthread_cond_broadcast(&n->idle);
		virtio_notify(d, TXQ);
	}
	virtio_drain_end(d, TXQ);
	virtio_unlock(d);
}

static void *net_thread(void *arg)
{
	struct vnet *n = arg;
	struct virtio_dev *d = n->vdev;
	struct pollfd fds[MAX_POLLFDS];

	seccomp_enter(SECCOMP_NET_WORKER);
	for (;;) {
		int cnt = 1, timeout = -1;
		bool room, paused;

		virtio_lock(d);
		if (n->stopping) {
			virtio_unlock(d);
			break;
		}
		paused = d->paused;
		if (paused != n->parked) {
			n->parked = paused;
			pthread_cond_broadcast(&n->idle);
		}
		if (!paused)
			deliver_held(n);
		room = virtio_running(d) && virtq_pending(&d->vq[RXQ]) > 0;
		virtio_unlock(d);

		fds[0] = (struct pollfd){ .fd = n->kick, .events = POLLIN };
		if (!paused)
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
		if (paused)
			continue;
		net_transmit(n);
		n->be->ops->poll_dispatch(n->be, fds, 1, cnt);
	}
	return NULL;
}

/* Without the lock: end the thread, then close the back end. */
static void net_destroy(void *opaque)
{
	struct vnet *n = opaque;

	if (n->thread_started) {
		virtio_lock(n->vdev);
		n->stopping = true;
		virtio_unlock(n->vdev);
		net_kick(n);
		pthread_join(n->thread, NULL);
	}
	if (n->be)
		n->be->ops->close(n->be);
	drop_held(n);
	for (int i = 0; i < TX_BATCH; i++)
		free(n->tx[i]);
	if (n->kick >= 0)
		close(n->kick);
	pthread_cond_destroy(&n->idle);
	free(n);
}

static const struct virtio_dev_ops net_ops = {
	.name = "virtio-net",
	.device_id = VIRTIO_ID_NET,
	.nr_queues = 2,
	.queue_max = QUEUE_SIZE,
	.features = (1ULL << VIRTIO_NET_F_CSUM) | (1ULL << VIRTIO_NET_F_GUEST_CSUM) |
		    (1ULL << VIRTIO_NET_F_MAC) | (1ULL << VIRTIO_NET_F_HOST_TSO4) |
		    (1ULL << VIRTIO_NET_F_STATUS),
	.config_size = CONFIG_SIZE,
	.config_read = net_config_read,
	.queue_notify = net_queue_notify,
	.start = net_start,
	.reset = net_reset,
	.pause = net_pause,
	.resume = net_resume,
	.state = net_state,
	.stats = net_stats,
	.destroy = net_destroy,
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

static int net_create(struct vm *vm, const struct dev_params *p, void **state)
{
	struct vnet *n;
	int err = -ENOMEM;

	n = calloc(1, sizeof(*n));
	if (!n)
		return -ENOMEM;
	n->kick = -1;
	pthread_cond_init(&n->idle, NULL);
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
	/* 52:54:00:12:34:56 (the address users of QEMU know), then :57...
	 * for the cards created after the first. */
	memcpy(n->config, (uint8_t[]){ 0x52, 0x54, 0x00, 0x12, 0x34, 0x56 }, 6);
	n->config[5] += (uint8_t)p->index;
	n->config[6] = VIRTIO_NET_S_LINK_UP;
	n->kick = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (n->kick < 0) {
		err = -errno;
		goto fail;
	}
	if ((err = virtio_plug(vm, p, &net_ops, n, &n->vdev)))
		goto fail;
	if ((err = -pthread_create(&n->thread, NULL, net_thread, n))) {
		warn("virtio-net: cannot start the I/O thread: %s", strerror(-err));
		virtio_unplug(n->vdev);
		goto fail;
	}
	n->thread_started = true;
	pthread_setname_np(n->thread, "virtio-net");
	*state = n->vdev;
	return 0;
fail:
	net_destroy(n);
	return err;
}

static const struct device_ops virtio_net = VIRTIO_DEVICE_OPS("virtio-net", net_create);
DEVICE_MODEL(virtio_net)
