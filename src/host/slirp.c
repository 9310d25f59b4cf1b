/* User-mode networking through libslirp: the guest sits on 10.0.2.0/24
 * behind a NAT (gateway and host 10.0.2.2, DNS 10.0.2.3, DHCP from
 * 10.0.2.15), with optional host port forwards. All libslirp calls happen on
 * the device's polling thread (libslirp is not thread-safe). */
#include "net.h"

#include <arpa/inet.h>
#include <slirp/libslirp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_TIMERS 16

struct slirp_timer {
	SlirpTimerCb cb;
	void *cb_opaque;
	int64_t expire_ms;  /* -1: not armed */
	bool used;
};

struct user_net {
	struct net_backend be;
	Slirp *slirp;
	struct slirp_timer timers[MAX_TIMERS];
	/* Poll set of the current round (slirp_pollfds_fill -> poll). */
	struct pollfd *fds;
	int *n, max, first, end;
	uint8_t buf[NET_MAX_FRAME];
};

static int64_t now_ms(void)
{
	return (int64_t)(host_ns() / 1000000);
}

/* --- callbacks from libslirp (on the polling thread) -------------------- */

static ssize_t cb_send_packet(const void *buf, size_t len, void *opaque)
{
	struct user_net *u = opaque;

	/* No room in the guest: drop, as a wire would; TCP retransmits. */
	if (u->be.can_receive(u->be.opaque))
		u->be.receive(u->be.opaque, buf, len);
	return (ssize_t)len;
}

static void cb_guest_error(const char *msg, void *opaque)
{
	(void)opaque;
	debug("virtio-net: slirp: guest error: %s", msg);
}

static int64_t cb_clock_get_ns(void *opaque)
{
	(void)opaque;
	return (int64_t)host_ns();
}

static void *cb_timer_new(SlirpTimerCb cb, void *cb_opaque, void *opaque)
{
	struct user_net *u = opaque;

	for (int i = 0; i < MAX_TIMERS; i++) {
		struct slirp_timer *t = &u->timers[i];
		if (!t->used) {
			*t = (struct slirp_timer){ cb, cb_opaque, -1, true };
			return t;
		}
	}
	warn("virtio-net: slirp: out of timers");
	return NULL;
}

static void cb_timer_free(void *timer, void *opaque)
{
	(void)opaque;
	if (timer)
		((struct slirp_timer *)timer)->used = false;
}

static void cb_timer_mod(void *timer, int64_t expire_ms, void *opaque)
{
	(void)opaque;
	if (timer)
		((struct slirp_timer *)timer)->expire_ms = expire_ms;
}

static void cb_register_poll_fd(int fd, void *opaque)
{
	(void)fd;
	(void)opaque;
}

static void cb_unregister_poll_fd(int fd, void *opaque)
{
	(void)fd;
	(void)opaque;
}

static void cb_notify(void *opaque)
{
	(void)opaque;  /* we poll again right after every dispatch anyway */
}

static const SlirpCb slirp_callbacks = {
	.send_packet = cb_send_packet,
	.guest_error = cb_guest_error,
	.clock_get_ns = cb_clock_get_ns,
	.timer_new = cb_timer_new,
	.timer_free = cb_timer_free,
	.timer_mod = cb_timer_mod,
	.register_poll_fd = cb_register_poll_fd,
	.unregister_poll_fd = cb_unregister_poll_fd,
	.notify = cb_notify,
};

/* --- poll integration ----------------------------------------------------- */

static int add_poll(int fd, int events, void *opaque)
{
	struct user_net *u = opaque;
	short ev = 0;
	int i = *u->n;

	if (i >= u->max)
		return -1;
	if (events & SLIRP_POLL_IN)
		ev |= POLLIN;
	if (events & SLIRP_POLL_OUT)
		ev |= POLLOUT;
	if (events & SLIRP_POLL_PRI)
		ev |= POLLPRI;
	u->fds[i] = (struct pollfd){ .fd = fd, .events = ev };
	(*u->n)++;
	return i - u->first;
}

static int get_revents(int idx, void *opaque)
{
	struct user_net *u = opaque;
	short r;
	int ev = 0;

	if (idx < 0 || u->first + idx >= u->end)
		return 0;
	r = u->fds[u->first + idx].revents;
	if (r & POLLIN)
		ev |= SLIRP_POLL_IN;
	if (r & POLLOUT)
		ev |= SLIRP_POLL_OUT;
	if (r & POLLPRI)
		ev |= SLIRP_POLL_PRI;
	if (r & POLLERR)
		ev |= SLIRP_POLL_ERR;
	if (r & POLLHUP)
		ev |= SLIRP_POLL_HUP;
	return ev;
}

static void user_poll_prepare(struct net_backend *b, struct pollfd *fds, int *n, int max,
			      int *timeout_ms, bool can_receive)
{
	struct user_net *u = (struct user_net *)b;
	uint32_t t = *timeout_ms < 0 ? UINT32_MAX : (uint32_t)*timeout_ms;
	int64_t now = now_ms();

	(void)can_receive;
	u->fds = fds;
	u->n = n;
	u->max = max;
	u->first = *n;
	slirp_pollfds_fill(u->slirp, &t, add_poll, u);
	for (int i = 0; i < MAX_TIMERS; i++) {
		const struct slirp_timer *tm = &u->timers[i];
		if (tm->used && tm->expire_ms >= 0) {
			int64_t left = tm->expire_ms > now ? tm->expire_ms - now : 0;
			if ((uint64_t)left < t)
				t = (uint32_t)left;
		}
	}
	*timeout_ms = t > INT32_MAX ? -1 : (int)t;
}

static void user_poll_dispatch(struct net_backend *b, struct pollfd *fds, int first, int end)
{
	struct user_net *u = (struct user_net *)b;
	int64_t now = now_ms();

	u->fds = fds;
	u->first = first;
	u->end = end;
	slirp_pollfds_poll(u->slirp, 0, get_revents, u);
	for (int i = 0; i < MAX_TIMERS; i++) {
		struct slirp_timer *tm = &u->timers[i];
		if (tm->used && tm->expire_ms >= 0 && tm->expire_ms <= now) {
			tm->expire_ms = -1;
			tm->cb(tm->cb_opaque);
		}
	}
}

static int user_send(struct net_backend *b, const struct iovec *iov, int cnt)
{
	struct user_net *u = (struct user_net *)b;
	size_t len = 0;

	if (cnt == 1 && iov[0].iov_len <= NET_MAX_FRAME) {
		slirp_input(u->slirp, iov[0].iov_base, (int)iov[0].iov_len);
		return 0;
	}
	for (int i = 0; i < cnt; i++) {
		if (iov[i].iov_len > sizeof(u->buf) - len)
			return -EMSGSIZE;
		memcpy(u->buf + len, iov[i].iov_base, iov[i].iov_len);
		len += iov[i].iov_len;
	}
	slirp_input(u->slirp, u->buf, (int)len);
	return 0;
}

static void user_close(struct net_backend *b)
{
	struct user_net *u = (struct user_net *)b;

	slirp_cleanup(u->slirp);
	free(u);
}

static const struct net_backend_ops user_ops = {
	.poll_prepare = user_poll_prepare,
	.poll_dispatch = user_poll_dispatch,
	.send = user_send,
	.close = user_close,
};

/* --- options -------------------------------------------------------------- */

static bool parse_port(const char *s, const char *end, int *port)
{
	long v = 0;

	if (s == end || end - s > 5)
		return false;
	for (const char *p = s; p < end; p++) {
		if (*p < '0' || *p > '9')
			return false;
		v = v * 10 + (*p - '0');
	}
	*port = (int)v;
	return v > 0 && v < 65536;
}

/* "[ADDR]:PORT" in [s, end). */
static bool parse_addr_port(const char *s, const char *end, struct in_addr *addr, int *port)
{
	const char *colon = memchr(s, ':', (size_t)(end - s));
	char a[INET_ADDRSTRLEN];

	if (!colon || !parse_port(colon + 1, end, port))
		return false;
	if (colon == s)
		return true;  /* keep the default address */
	if ((size_t)(colon - s) >= sizeof(a))
		return false;
	memcpy(a, s, (size_t)(colon - s));
	a[colon - s] = '\0';
	return inet_pton(AF_INET, a, addr) == 1;
}

/* "tcp:[HOSTADDR]:HOSTPORT-[GUESTADDR]:GUESTPORT" (or udp:), as in QEMU. */
static int add_hostfwd(Slirp *slirp, const char *spec)
{
	struct in_addr host = { .s_addr = htonl(INADDR_ANY) }, guest;
	int udp, hport, gport;
	const char *dash, *end = spec + strlen(spec);

	inet_pton(AF_INET, "10.0.2.15", &guest);
	if (!strncmp(spec, "tcp:", 4))
		udp = 0;
	else if (!strncmp(spec, "udp:", 4))
		udp = 1;
	else
		return -EINVAL;
	spec += 4;
	dash = strchr(spec, '-');
	if (!dash || !parse_addr_port(spec, dash, &host, &hport) ||
	    !parse_addr_port(dash + 1, end, &guest, &gport))
		return -EINVAL;
	if (slirp_add_hostfwd(slirp, udp, host, hport, guest, gport) < 0)
		return -EADDRINUSE;
	return 0;
}

struct net_backend *slirp_open(const char *options)
{
	SlirpConfig cfg = { .version = 1, .in_enabled = true };
	struct user_net *u;
	char *opts, *opt, *save;

	u = calloc(1, sizeof(*u));
	if (!u)
		return NULL;
	inet_pton(AF_INET, "10.0.2.0", &cfg.vnetwork);
	inet_pton(AF_INET, "255.255.255.0", &cfg.vnetmask);
	inet_pton(AF_INET, "10.0.2.2", &cfg.vhost);
	inet_pton(AF_INET, "10.0.2.15", &cfg.vdhcp_start);
	inet_pton(AF_INET, "10.0.2.3", &cfg.vnameserver);
	cfg.vhostname = "trevo";
	u->slirp = slirp_new(&cfg, &slirp_callbacks, u);
	if (!u->slirp) {
		warn("virtio-net: cannot start user networking (libslirp)");
		free(u);
		return NULL;
	}
	u->be.ops = &user_ops;
	/* libslirp's ip_input takes any IPv4 length (only its IPv6 input
	 * checks the MTU), its tcp_input any segment inside the window. */
	u->be.takes_large_tcp4 = true;
	/* Its ip_output, tcp_output, udp_output and icmp code fill in every
	 * checksum of what it sends the guest. */
	u->be.rx_csum_valid = true;
	opts = strdup(options ? options : "");
	for (opt = strtok_r(opts, ",", &save); opt; opt = strtok_r(NULL, ",", &save)) {
		int err = -EINVAL;
		if (!strncmp(opt, "hostfwd=", 8))
			err = add_hostfwd(u->slirp, opt + 8);
		if (err == -EADDRINUSE) {
			warn("virtio-net: cannot forward %s: host port busy or not allowed",
			     opt + 8);
		} else if (err) {
			warn("virtio-net: bad option '%s' for --net user "
			     "(hostfwd=tcp:[HOSTADDR]:HOSTPORT-[GUESTADDR]:GUESTPORT)",
			     opt);
		}
		if (err) {
			free(opts);
			user_close(&u->be);
			return NULL;
		}
	}
	free(opts);
	return &u->be;
}
