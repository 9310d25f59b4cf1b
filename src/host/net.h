/* Host back ends of a virtual network card: where the guest's Ethernet
 * frames go (a tap device, libslirp's user-mode stack). A back end is driven
 * by one thread, the device's I/O thread: it adds its fds to that thread's
 * poll set, handles them after poll() and transmits from it, so back ends
 * need no locks of their own (libslirp is not thread-safe). */
#ifndef TREVO_HOST_NET_H
#define TREVO_HOST_NET_H

#include "../common.h"

#include <poll.h>
#include <sys/uio.h>

struct net_backend;

struct net_backend_ops {
	/* Append pollfds at fds[*n] (up to max) and lower *timeout_ms (-1: no
	 * limit). can_receive: the guest has room, so ask for input. */
	void (*poll_prepare)(struct net_backend *b, struct pollfd *fds, int *n, int max,
			     int *timeout_ms, bool can_receive);
	/* After poll(): fds[first..end) are ours. Deliver frames through
	 * b->receive, run timers. */
	void (*poll_dispatch)(struct net_backend *b, struct pollfd *fds, int first, int end);
	/* Transmit one Ethernet frame. 0, or -errno when it was dropped. */
	int (*send)(struct net_backend *b, const struct iovec *iov, int cnt);
	void (*close)(struct net_backend *b);
};

struct net_backend {
	const struct net_backend_ops *ops;
	/* Set by the device: one received frame (polling thread). */
	void (*receive)(void *opaque, const uint8_t *frame, size_t len);
	/* Set by the device: whether a frame can be taken right now. */
	bool (*can_receive)(void *opaque);
	void *opaque;
	/* Set by the back end: it is an IP stack, not a wire, and takes an
	 * IPv4 TCP segment larger than the MTU in one frame (up to
	 * NET_MAX_FRAME, checksums complete). A NIC doing TCP segmentation
	 * for the guest may then hand over the guest's whole segment: the
	 * stack acknowledges it once instead of once per MSS. */
	bool takes_large_tcp4;
	/* Set by the back end: the frames it delivers carry correct
	 * checksums, as its own IP stack made them (slirp), so a card may
	 * tell the guest not to check them again. */
	bool rx_csum_valid;
};

#define NET_MAX_FRAME 65536

/* "tap:NAME" -> tap_open("NAME"): an existing or new tap interface. Prints
 * one line and returns NULL on failure. */
struct net_backend *tap_open(const char *name);
/* "user[,hostfwd=tcp:[HOSTADDR]:HOSTPORT-[GUESTADDR]:GUESTPORT]..." ->
 * slirp_open(text after "user"). Prints one line, NULL on a bad spec. */
struct net_backend *slirp_open(const char *options);

#endif
