/* virtio-rng, virtio-net (libslirp back end) and virtio-console through the
 * virtio-mmio transport, driven as a guest driver would: queues in a RAM
 * array, completions from the devices' threads. virtio-net also through a
 * real TCP connection via slirp to a host socket: checksum completion
 * (NEEDS_CSUM), DATA_VALID on what slirp sends, a TSO frame slirp takes
 * whole and acknowledges once, and hostile headers dropped. */
#include <arpa/inet.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "unit_vm.h"
#include "dev/virtio.h"
#include "host/console.h"
#include "host/loop.h"
#include "unit_net.h"
#include "vm.h"

#define RAM_BASE 0x80000000ULL
#define RAM_SIZE (4ULL << 20)
#define QSZ 16
/* Queue q lives at RAM_BASE + 0x10000 * (q + 1). */
#define QBASE(q) (RAM_BASE + 0x10000ULL * ((q) + 1))
#define DESC(q) QBASE(q)
#define AVAIL(q) (QBASE(q) + 0x1000)
#define USED(q) (QBASE(q) + 0x2000)
#define BUF (RAM_BASE + 0x100000)

#include "check.h"

static void fake_set_irq(void *ctx, unsigned irq, int level)
{
	(void)ctx;
	(void)irq;
	(void)level;
}

static struct vm_config cfg;
static struct vm vm;
static const struct mmio_region *win;
static uint16_t avail_idx[2], seen_used[2];

static uint32_t rd(unsigned off)
{
	return (uint32_t)win->ops->read(win->opaque, off, 4);
}

static void wr(unsigned off, uint32_t v)
{
	win->ops->write(win->opaque, off, v, 4);
}

static uint8_t *host(uint64_t gpa)
{
	return gmem_ptr(&vm.mem, gpa, 1);
}

static void new_vm(void)
{
	unit_vm_free(&vm);  /* the previous case's */
	memset(&vm, 0, sizeof(vm));
	vm.cfg = &cfg;
	vm.set_irq = fake_set_irq;
	vm.mmio_alloc_next = 0x10001000;
	vm.mmio_alloc_end = 0x10009000;
	vm.irq_alloc_next = 1;
	vm.irq_alloc_end = 9;
	if (gmem_add_region(&vm.mem, RAM_BASE, RAM_SIZE)) {
		printf("FAIL devs-setup: cannot map RAM\n");
		exit(1);
	}
}

static bool driver_init(uint32_t device_id, unsigned nq, uint32_t *features_lo)
{
	win = bus_find(&vm.mmio, vm.desc[vm.nr_desc - 1].base, 4);
	if (!win || rd(0x000) != 0x74726976 || rd(0x008) != device_id)
		return false;
	wr(0x070, 0);
	wr(0x070, 3);
	wr(0x014, 0);
	*features_lo = rd(0x010);
	wr(0x024, 0);
	wr(0x020, *features_lo & ~(1u << 29));  /* everything but EVENT_IDX */
	wr(0x024, 1);
	wr(0x020, 1);
	wr(0x070, 3 | VIRTIO_STATUS_FEATURES_OK);
	if (!(rd(0x070) & VIRTIO_STATUS_FEATURES_OK))
		return false;
	for (unsigned q = 0; q < nq; q++) {
		memset(host(QBASE(q)), 0, 0x3000);
		avail_idx[q] = seen_used[q] = 0;
		wr(0x030, q);
		wr(0x038, QSZ);
		wr(0x080, (uint32_t)DESC(q));
		wr(0x084, 0);
		wr(0x090, (uint32_t)AVAIL(q));
		wr(0x094, 0);
		wr(0x0a0, (uint32_t)USED(q));
		wr(0x0a4, 0);
		wr(0x044, 1);
	}
	wr(0x070, 3 | VIRTIO_STATUS_FEATURES_OK | VIRTIO_STATUS_DRIVER_OK);
	return rd(0x070) & VIRTIO_STATUS_DRIVER_OK;
}

/* Offer one buffer as descriptor slot on queue q. */
static void offer(unsigned q, unsigned slot, uint64_t addr, uint32_t len, bool writable,
		  bool notify)
{
	struct virtq_desc d = { addr, len, writable ? VIRTQ_DESC_F_WRITE : 0, 0 };
	gmem_write(&vm.mem, DESC(q) + 16 * slot, &d, 16);
	gmem_write16(&vm.mem, AVAIL(q) + 4 + 2 * (avail_idx[q] % QSZ), (uint16_t)slot);
	avail_idx[q]++;
	__atomic_store_n((uint16_t *)host(AVAIL(q) + 2), avail_idx[q], __ATOMIC_RELEASE);
	if (notify)
		wr(0x050, q);
}

/* Wait for the next used element on q; returns its length or -1. */
static int wait_used(unsigned q, uint32_t *id, int ms)
{
	for (int i = 0; i < ms; i++) {
		uint16_t u = __atomic_load_n((uint16_t *)host(USED(q) + 2), __ATOMIC_ACQUIRE);
		if (u != seen_used[q]) {
			uint32_t elem[2];
			gmem_read(&vm.mem, USED(q) + 4 + 8 * (seen_used[q] % QSZ), elem, 8);
			seen_used[q]++;
			if (id)
				*id = elem[0];
			return (int)elem[1];
		}
		usleep(1000);
	}
	return -1;
}

static void test_rng(void)
{
	struct dev_params p = { .irq = -1 };
	uint32_t lo;
	int len;
	bool nonzero = false;

	new_vm();
	CHECK("rng-create", vm_create_device(&vm, "virtio-rng", &p) == 0);
	CHECK("rng-init", driver_init(VIRTIO_ID_RNG, 1, &lo));
	memset(host(BUF), 0, 64);
	offer(0, 0, BUF, 64, true, true);
	len = wait_used(0, NULL, 1000);
	for (int i = 0; i < 64; i++)
		nonzero |= host(BUF)[i] != 0;
	CHECK("rng-fills", len == 64 && nonzero);
	offer(0, 1, BUF, 1 << 20, true, true);
	CHECK("rng-caps-large", wait_used(0, NULL, 1000) == 4096);
	offer(0, 2, BUF, 8, false, true);  /* readable only: nothing to fill */
	CHECK("rng-readable-buffer", wait_used(0, NULL, 1000) == 0);
}

/* An ARP request for 10.0.2.2 from 10.0.2.15: slirp must answer it. */
static size_t build_arp(uint8_t *f)
{
	static const uint8_t mac[6] = { 0x52, 0x54, 0x00, 0x12, 0x34, 0x56 };
	uint8_t *p = f;

	memset(p, 0xff, 6);                       p += 6;  /* dst: broadcast */
	memcpy(p, mac, 6);                        p += 6;
	*p++ = 0x08; *p++ = 0x06;                          /* ARP */
	*p++ = 0; *p++ = 1; *p++ = 0x08; *p++ = 0;         /* Ethernet, IPv4 */
	*p++ = 6; *p++ = 4; *p++ = 0; *p++ = 1;            /* request */
	memcpy(p, mac, 6);                        p += 6;
	*p++ = 10; *p++ = 0; *p++ = 2; *p++ = 15;
	memset(p, 0, 6);                          p += 6;
	*p++ = 10; *p++ = 0; *p++ = 2; *p++ = 2;
	memset(p, 0, 18);                         p += 18; /* pad to 60 */
	return (size_t)(p - f);
}

static void test_net(void)
{
	struct dev_params p = { .irq = -1, .arg = "user" };
	uint8_t frame[128];
	uint32_t lo, id;
	size_t flen = build_arp(frame);
	int len;

	new_vm();
	CHECK("net-create-user", vm_create_device(&vm, "virtio-net", &p) == 0);
	CHECK("net-init", driver_init(VIRTIO_ID_NET, 2, &lo));
	CHECK("net-features", (lo & (1u << 5)) && (lo & (1u << 16)));
	CHECK("net-mac", win->ops->read(win->opaque, 0x100, 1) == 0x52 &&
				 win->ops->read(win->opaque, 0x105, 1) == 0x56 &&
				 win->ops->read(win->opaque, 0x106, 2) == 1);
	/* Receive buffers first, then transmit the request. */
	offer(0, 0, BUF, 2048, true, true);
	offer(0, 1, BUF + 0x1000, 2048, true, true);
	memset(host(BUF + 0x8000), 0, 12);
	memcpy(host(BUF + 0x8000 + 12), frame, flen);
	offer(1, 0, BUF + 0x8000, (uint32_t)(12 + flen), false, true);
	CHECK("net-tx-completes", wait_used(1, NULL, 2000) == 0);
	len = wait_used(0, &id, 3000);
	CHECK("net-rx-arp-reply",
	      len >= 12 + 42 && id == 0 && host(BUF)[10] == 1 /* num_buffers */ &&
		      host(BUF + 12 + 12)[0] == 0x08 && host(BUF + 12 + 13)[0] == 0x06 &&
		      host(BUF + 12 + 21)[0] == 2 /* reply */ && host(BUF + 12 + 31)[0] == 2);
	/* Checksum offload (5.1.6.2): an ICMP echo request to the gateway
	 * with its checksum left to the device; slirp only answers a correct
	 * one. */
	{
		uint8_t *f = host(BUF + 0x8000), *ip = f + 12 + 14, *icmp = ip + 20;
		struct { uint8_t flags, gso; uint16_t hdr_len, gso_size, start, off, nb; } h = {
			1 /* NEEDS_CSUM */, 0, 0, 0, 14 + 20, 2, 0 };
		static const uint8_t ip_hdr[20] = { 0x45, 0, 0, 28 + 8, 0, 1, 0x40, 0, 64, 1, 0, 0,
						    10, 0, 2, 15, 10, 0, 2, 2 };
		uint32_t sum = 0;
		memcpy(f, &h, 12);
		memcpy(f + 12, frame, 6);
		memcpy(f + 12, (uint8_t[]){ 0x52, 0x55, 0x0a, 0x00, 0x02, 0x02 }, 6);
		memcpy(f + 12 + 6, (uint8_t[]){ 0x52, 0x54, 0x00, 0x12, 0x34, 0x56 }, 6);
		f[12 + 12] = 0x08;
		f[12 + 13] = 0x00;
		memcpy(ip, ip_hdr, 20);
		for (int i = 0; i < 20; i += 2)
			sum += ip[i] << 8 | ip[i + 1];
		while (sum >> 16)
			sum = (sum & 0xffff) + (sum >> 16);
		ip[10] = (uint8_t)(~sum >> 8);
		ip[11] = (uint8_t)~sum;
		memcpy(icmp, (uint8_t[]){ 8, 0, 0, 0, 0x12, 0x34, 0, 1, 't', 'r', 'e', 'v', 'o', '!', '!', '!' }, 16);
		offer(0, 2, BUF + 0x2000, 2048, true, true);
		offer(1, 2, BUF + 0x8000, 12 + 14 + 20 + 16, false, true);
		CHECK("net-csum-tx-completes", wait_used(1, NULL, 2000) == 0);
		len = wait_used(0, &id, 3000);
		{
			/* Into the oldest free buffer: slot 1, then 2. */
			uint64_t rx = BUF + 0x1000ULL * (id < 3 ? id : 0);
			CHECK("net-csum-offload-echo-reply",
			      len >= 12 + 14 + 20 + 8 && id >= 1 && id <= 2 &&
				      host(rx)[0] == 2 /* DATA_VALID */ &&
				      host(rx + 12 + 14 + 20)[0] == 0 /* echo reply */ &&
				      !memcmp(host(rx + 12 + 14 + 28), "trevo!!!", 8));
		}
	}
	/* Garbage frames (header only, or giant) are dropped, not fatal. */
	offer(1, 1, BUF + 0x8000, 12, false, true);
	CHECK("net-tx-runt", wait_used(1, NULL, 2000) == 0);

	p.arg = "user,hostfwd=tcp::notaport-:22";
	fprintf(stderr, "(expected errors follow)\n");
	CHECK("net-bad-hostfwd", vm_create_device(&vm, "virtio-net", &p) == -EINVAL);
	p.arg = "user,bogus=1";
	CHECK("net-bad-user-option", vm_create_device(&vm, "virtio-net", &p) == -EINVAL);
	p.arg = "wire";
	CHECK("net-bad-spec", vm_create_device(&vm, "virtio-net", &p) == -EINVAL);
	p.arg = "tap:";
	CHECK("net-bad-tap-name", vm_create_device(&vm, "virtio-net", &p) == -EINVAL);
	p.arg = "user,hostfwd=tcp:127.0.0.1:0-:22";
	CHECK("net-bad-port-zero", vm_create_device(&vm, "virtio-net", &p) == -EINVAL);
	{
		/* A port the kernel just said is free. */
		struct sockaddr_in a = { .sin_family = AF_INET };
		socklen_t al = sizeof(a);
		char spec[96];
		int fd = socket(AF_INET, SOCK_STREAM, 0);
		a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		bind(fd, (struct sockaddr *)&a, sizeof(a));
		getsockname(fd, (struct sockaddr *)&a, &al);
		close(fd);
		snprintf(spec, sizeof(spec), "user,hostfwd=tcp:127.0.0.1:%d-10.0.2.15:22",
			 ntohs(a.sin_port));
		p.arg = spec;
		CHECK("net-good-hostfwd", vm_create_device(&vm, "virtio-net", &p) == 0);
	}
}

/* ---- TCP through slirp ---------------------------------------------------- */


/* At f: the virtio_net_hdr, then a TCP/IPv4 frame from 10.0.2.15:40000
 * to 10.0.2.2:port with payload bytes 0x30 + i. The IP checksum is done;
 * the TCP one left to the device (NEEDS_CSUM: the field holds the
 * pseudo-header sum), with TSO when mss is not 0. Returns the length. */
static uint32_t tcp_request(uint8_t *f, int port, uint32_t seq, uint32_t ack, uint8_t flags,
			    unsigned payload, unsigned mss)
{
	uint8_t *e = f + 12, *ip = e + 14, *tcp = ip + 20;
	struct { uint8_t flags, gso; uint16_t hdr_len, gso_size, start, off, nb; } h = {
		1, mss ? 1 : 0, 54, (uint16_t)mss, 34, 16, 0 };

	memcpy(f, &h, 12);
	memcpy(e, (uint8_t[]){ 0x52, 0x55, 0x0a, 0x00, 0x02, 0x02, 0x52, 0x54, 0x00, 0x12, 0x34, 0x56,
			       0x08, 0x00 }, 14);
	memset(ip, 0, 40);
	ip[0] = 0x45;
	unit_put16(ip + 2, 40 + payload);
	unit_put16(ip + 4, 7);
	ip[8] = 64;
	ip[9] = 6;
	memcpy(ip + 12, (uint8_t[]){ 10, 0, 2, 15, 10, 0, 2, 2 }, 8);
	unit_put16(ip + 10, (uint16_t)~unit_sum16(0, ip, 20));
	unit_put16(tcp, 40000);
	unit_put16(tcp + 2, (unsigned)port);
	unit_put16(tcp + 4, seq >> 16);
	unit_put16(tcp + 6, seq & 0xffff);
	unit_put16(tcp + 8, ack >> 16);
	unit_put16(tcp + 10, ack & 0xffff);
	tcp[12] = 5 << 4;
	tcp[13] = flags;
	unit_put16(tcp + 14, 65535);
	for (unsigned i = 0; i < payload; i++)
		tcp[20 + i] = (uint8_t)(0x30 + i);
	unit_put16(tcp + 16, unit_sum16(unit_sum16(0, ip + 12, 8) + 6 + 20 + payload, NULL, 0));
	return 12 + 54 + payload;
}

/* The next received frame (after its virtio_net_hdr), or NULL; rx
 * buffers are 8 slots of 2 KiB at BUF, reposted as they are used. */
static uint8_t *next_rx(uint8_t *hdr_flags)
{
	uint32_t id;
	int len = wait_used(0, &id, 3000);

	if (len < 12 + 54 || id >= 8)
		return NULL;
	*hdr_flags = host(BUF + 0x800ULL * id)[0];
	memcpy(host(BUF + 0x10000), host(BUF + 0x800ULL * id), (size_t)len);
	offer(0, id, BUF + 0x800ULL * id, 0x800, true, true);
	return host(BUF + 0x10000 + 12);
}

static void test_net_tcp(void)
{
	struct dev_params p = { .irq = -1, .arg = "user" };
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t sl = sizeof(sa);
	int ls = socket(AF_INET, SOCK_STREAM, 0), cs = -1, port;
	uint8_t *tx, *f, fl = 0, got[8192];
	uint32_t lo, their, len;
	unsigned n = 0;
	bool same = true, ok = true;

	if (ls < 0 || bind(ls, (struct sockaddr *)&sa, sizeof(sa)) || listen(ls, 1) ||
	    getsockname(ls, (struct sockaddr *)&sa, &sl)) {
		printf("SKIP net-tcp: no loopback socket\n");
		return;
	}
	port = ntohs(sa.sin_port);
	new_vm();
	tx = host(BUF + 0x20000);
	CHECK("net-tcp-create", vm_create_device(&vm, "virtio-net", &p) == 0);
	CHECK("net-tcp-init", driver_init(VIRTIO_ID_NET, 2, &lo));
	CHECK("net-offload-features", (lo & 1) && (lo & 2) && (lo & (1u << 11)));
	for (unsigned i = 0; i < 8; i++)
		offer(0, i, BUF + 0x800ULL * i, 0x800, true, i == 7);
	/* slirp learns our address from the ARP request */
	memset(tx, 0, 12);
	len = (uint32_t)build_arp(tx + 12);
	offer(1, 0, BUF + 0x20000, 12 + len, false, true);
	CHECK("net-tcp-arp", wait_used(1, NULL, 2000) == 0 && next_rx(&fl) && fl == 2);
	/* Hostile headers, each dropped (the request completes, nothing is
	 * sent; the connection below shows the device still works): no MSS,
	 * csum_start/csum_offset past the frame, a GSO type not offered
	 * (TCPv6, ECN), a TCP header past the frame. */
	for (unsigned i = 0; i < 6; i++) {
		uint8_t *r = host(BUF + 0x20000 + 0x2000ULL * (i + 1));
		len = tcp_request(r, port, 1000, 0, 0x02, 100, 536);
		switch (i) {
		case 0: r[4] = r[5] = 0; break;                    /* gso_size 0 */
		case 1: r[1] = 0; r[6] = 0xff; r[7] = 0xff; break;   /* csum_start */
		case 2: r[1] = 0; r[8] = 0xf0; r[9] = 0xff; break;   /* csum_offset */
		case 3: r[1] = 4; break;                             /* TCPV6 */
		case 4: r[1] = 0x81; break;                          /* TCPV4 | ECN */
		case 5: len = 12 + 14 + 24; break;                   /* no room for TCP */
		}
		offer(1, i + 1, BUF + 0x20000 + 0x2000ULL * (i + 1), len, false, true);
		ok &= wait_used(1, NULL, 2000) == 0;
	}
	CHECK("net-hostile-headers-dropped", ok && wait_used(0, NULL, 200) < 0);
	/* SYN with its checksum left to the device: slirp answers only a
	 * correct one, and marks nothing it sends as unchecked */
	len = tcp_request(tx, port, 1000, 0, 0x02, 0, 0);
	offer(1, 0, BUF + 0x20000, len, false, true);
	f = next_rx(&fl);
	CHECK("net-tcp-synack-after-csum-offload",
	      f && unit_be16(f + 12) == 0x0800 && f[14 + 9] == 6 && f[14 + 20 + 13] == 0x12 &&
		      unit_be32(f + 14 + 20 + 8) == 1001);
	CHECK("net-rx-data-valid", f && fl == 2);
	wait_used(1, NULL, 2000);
	if (!f)
		goto done;
	their = unit_be32(f + 14 + 20 + 4) + 1;
	cs = accept(ls, NULL, NULL);
	len = tcp_request(tx, port, 1001, their, 0x10, 0, 0);
	offer(1, 0, BUF + 0x20000, len, false, true);
	wait_used(1, NULL, 2000);
	/* 4000 bytes in one TSO request, MSS 1000 */
	len = tcp_request(host(BUF + 0x30000), port, 1001, their, 0x18, 4000, 1000);
	offer(1, 1, BUF + 0x30000, len, false, true);
	CHECK("net-tso-tx-completes", wait_used(1, NULL, 2000) == 0);
	n = (unsigned)unit_read_all(cs, got, 4000, 2000);
	for (unsigned i = 0; i < n; i++)
		same &= got[i] == (uint8_t)(0x30 + i);
	CHECK("net-tso-data", n == 4000 && same);
	/* Whole: slirp's first acknowledgement covers all of it (segmented,
	 * it acknowledges a segment or two at a time). */
	f = next_rx(&fl);
	CHECK("net-tso-whole-acked-once", f && f[14 + 20 + 13] & 0x10 && unit_be32(f + 14 + 20 + 8) == 5001);
done:
	if (cs >= 0)
		close(cs);
	close(ls);
}

static void test_console(void)
{
	struct dev_params p = { .irq = -1 };
	char path[64], spec[80], out[64] = { 0 };
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	uint32_t lo;
	int s, len, n = 0;

	new_vm();
	snprintf(path, sizeof(path), "/tmp/trevo-con-test-%d.sock", getpid());
	snprintf(spec, sizeof(spec), "unix:%s", path);
	vm.loop = loop_create();
	loop_start(vm.loop);
	vm.console = console_create(&vm, spec);
	if (!vm.console) {
		printf("SKIP console: cannot create a unix-socket console\n");
		return;
	}
	CHECK("console-create", vm_create_device(&vm, "virtio-console", &p) == 0);
	CHECK("console-init", driver_init(VIRTIO_ID_CONSOLE, 2, &lo));
	CHECK("console-emerg-feature", lo & (1u << 2));
	s = socket(AF_UNIX, SOCK_STREAM, 0);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	CHECK("console-connect", connect(s, (struct sockaddr *)&sa, sizeof(sa)) == 0);
	usleep(100000);  /* let the loop accept the client */
	/* Output: transmitq. */
	memcpy(host(BUF), "hello", 5);
	offer(1, 0, BUF, 5, false, true);
	CHECK("console-tx-completes", wait_used(1, NULL, 1000) == 0);
	/* Early output through emerg_wr. */
	win->ops->write(win->opaque, 0x108, '!', 4);
	while (n < 6) {
		ssize_t r = read(s, out + n, sizeof(out) - 1 - n);
		if (r <= 0)
			break;
		n += (int)r;
	}
	CHECK("console-output", n == 6 && !strcmp(out, "hello!"));
	/* Input: a posted receive buffer fills when the host types. */
	offer(0, 0, BUF + 0x1000, 64, true, true);
	CHECK("console-write-input", write(s, "ls\r", 3) == 3);
	len = wait_used(0, NULL, 2000);
	CHECK("console-input", len == 3 && !memcmp(host(BUF + 0x1000), "ls\r", 3));
	close(s);
	unlink(path);
	loop_stop(vm.loop);
	unit_vm_free(&vm);
	console_destroy(vm.console);
	vm.console = NULL;
	loop_destroy(vm.loop);
	vm.loop = NULL;
}

int main(void)
{
	test_rng();
	test_net();
	test_net_tcp();
	test_console();
	unit_vm_free(&vm);
	return failures ? 1 : 0;
}
