/* Tap back end: frames to and from a Linux tap interface (/dev/net/tun,
 * IFF_TAP without packet information). */
#include "net.h"

#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

struct tap {
	struct net_backend be;
	int fd;
	uint8_t buf[NET_MAX_FRAME];
};

static void tap_poll_prepare(struct net_backend *b, struct pollfd *fds, int *n, int max,
			     int *timeout_ms, bool can_receive)
{
	struct tap *t = (struct tap *)b;

	(void)timeout_ms;
	/* No room in the guest: leave frames in the kernel's queue. */
	if (!can_receive || *n >= max)
		return;
	fds[*n] = (struct pollfd){ .fd = t->fd, .events = POLLIN };
	(*n)++;
}

static void tap_poll_dispatch(struct net_backend *b, struct pollfd *fds, int first, int end)
{
	struct tap *t = (struct tap *)b;

	if (first >= end || !(fds[first].revents & POLLIN))
		return;
	/* A bounded batch, so transmit gets its turn. */
	for (int i = 0; i < 64 && b->can_receive(b->opaque); i++) {
		ssize_t n = read(t->fd, t->buf, sizeof(t->buf));
		if (n <= 0)
			break;
		b->receive(b->opaque, t->buf, (size_t)n);
	}
}

static int tap_send(struct net_backend *b, const struct iovec *iov, int cnt)
{
	struct tap *t = (struct tap *)b;
	ssize_t n = writev(t->fd, iov, cnt);

	return n < 0 ? -errno : 0;
}

static void tap_close(struct net_backend *b)
{
	struct tap *t = (struct tap *)b;

	close(t->fd);
	free(t);
}

static const struct net_backend_ops tap_ops = {
	.poll_prepare = tap_poll_prepare,
	.poll_dispatch = tap_poll_dispatch,
	.send = tap_send,
	.close = tap_close,
};

struct net_backend *tap_open(const char *name)
{
	struct ifreq ifr = { .ifr_flags = IFF_TAP | IFF_NO_PI };
	struct tap *t;
	int fd;

	if (!name || !*name || strlen(name) >= IFNAMSIZ) {
		warn("virtio-net: bad tap interface name '%s' (tap:NAME, at most %d characters)",
		     name ? name : "", IFNAMSIZ - 1);
		return NULL;
	}
	fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0) {
		warn("virtio-net: cannot open /dev/net/tun: %s", strerror(errno));
		return NULL;
	}
	memcpy(ifr.ifr_name, name, strlen(name));
	if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
		warn("virtio-net: cannot attach to tap interface %s: %s", name, strerror(errno));
		close(fd);
		return NULL;
	}
	t = calloc(1, sizeof(*t));
	if (!t) {
		close(fd);
		return NULL;
	}
	t->be.ops = &tap_ops;
	t->fd = fd;
	return &t->be;
}
