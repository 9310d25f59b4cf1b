/* Device lifecycles (device_ops, src/dev/device.h): for each model, save ->
 * load into a fresh instance -> the registers read back identical and the
 * device goes on working; reset -> power-on values; truncated or corrupted
 * state refused without harm; pause with a request in flight -> resume
 * completes it; destroy leaves nothing behind (checked by LeakSanitizer in
 * the sanitized build, in a child that turns leak detection on). */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "dev/virtio.h"
#include "host/console.h"
#include "host/loop.h"
#include "stats.h"
#include "vm.h"
#include "vmstate.h"

#define RAM_BASE 0x80000000ULL
#define RAM_SIZE (4ULL << 20)
#define QSZ 16
/* Queue q of the device being driven lives at QBASE(q). */
#define QBASE(q) (RAM_BASE + 0x10000ULL * ((q) + 1))
#define DESC(q) QBASE(q)
#define AVAIL(q) (QBASE(q) + 0x1000)
#define USED(q) (QBASE(q) + 0x2000)
#define BUF (RAM_BASE + 0x100000)
#define SECTORS 64

#include "check.h"

static _Atomic int irq_level[64];

static void fake_set_irq(void *ctx, unsigned irq, int level)
{
	(void)ctx;
	if (irq < 64)
		irq_level[irq] = level;
}

static struct vm_config cfg;
static struct vm vm;
static const struct mmio_region *win;
static uint16_t avail_idx[2], seen_used[2];

static uint32_t rd(unsigned off) { return (uint32_t)win->ops->read(win->opaque, off, 4); }
static void wr(unsigned off, uint32_t v) { win->ops->write(win->opaque, off, v, 4); }
static uint8_t *host(uint64_t gpa) { return gmem_ptr(&vm.mem, gpa, 1); }

static void new_vm(void)
{
	memset(&vm, 0, sizeof(vm));
	vm.cfg = &cfg;
	vm.set_irq = fake_set_irq;
	vm.mmio_alloc_next = 0x10001000;
	vm.mmio_alloc_end = 0x10009000;
	vm.irq_alloc_next = 1;
	vm.irq_alloc_end = 9;
	if (gmem_add_region(&vm.mem, RAM_BASE, RAM_SIZE)) {
		printf("FAIL devlife-setup: cannot map RAM\n");
		exit(1);
	}
}

/* What vm.c's teardown does for devices, then the VM's own parts. */
static void destroy_vm(void)
{
	struct device *d = vm.devices;

	if (vm.loop)
		loop_stop(vm.loop);
	while (d) {
		struct device *next = d->next;
		d->ops->destroy(d->state);
		free(d);
		d = next;
	}
	vm.devices = NULL;
	console_destroy(vm.console);
	loop_destroy(vm.loop);
	gmem_free(&vm.mem);
	memset(&vm, 0, sizeof(vm));
}

static struct device *dev(const char *id)
{
	struct device *d = vm_find_device(&vm, id);

	if (!d) {
		printf("FAIL devlife-find: no device %s\n", id);
		exit(1);
	}
	return d;
}

static const struct mmio_region *window_of(const char *id)
{
	struct device *d = dev(id);

	for (int i = 0; i < vm.mmio.nr; i++)
		if (vm.mmio.region[i].opaque && d->state &&
		    vm.mmio.region[i].opaque == ((struct virtio_dev *)d->state)->transport)
			return &vm.mmio.region[i];
	return NULL;
}

static int save(struct device *d, struct vmstate *s)
{
	vms_init_save(s);
	return d->ops->state(d->state, s);
}

static int load(struct device *d, const void *buf, size_t len)
{
	struct vmstate s;

	vms_init_load(&s, buf, len);
	return d->ops->state(d->state, &s);
}

/* Every prefix of a good state is refused, and a refused load is harmless. */
static bool truncations_refused(struct device *d, const struct vmstate *good)
{
	for (size_t n = 0; n < good->len; n++)
		if (load(d, good->buf, n) != -EINVAL)
			return false;
	return true;
}

/* ---- a stats sink that remembers one counter ---------------------------- */

struct stat_find {
	const char *name;
	uint64_t value;
	bool found;
};

static void stat_put(void *ctx, const char *name, uint64_t value)
{
	struct stat_find *f = ctx;

	if (!strcmp(name, f->name)) {
		f->value = value;
		f->found = true;
	}
}

static uint64_t stat(struct device *d, const char *name)
{
	struct stat_find f = { .name = name };
	struct stats_sink s = { stat_put, &f };

	d->ops->stats(d->state, &s);
	return f.found ? f.value : UINT64_MAX;
}

/* ---- the driver side of virtio-mmio ------------------------------------- */

static bool driver_init(uint32_t device_id, unsigned nq, uint64_t features)
{
	if (!win || rd(0x000) != 0x74726976 || rd(0x008) != device_id)
		return false;
	wr(0x070, 0);
	wr(0x070, 3);
	wr(0x024, 0);
	wr(0x020, (uint32_t)features);
	wr(0x024, 1);
	wr(0x020, (uint32_t)(features >> 32));
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

/* Every register a driver can read back, in one fixed order. */
static void read_regs(unsigned nq, uint32_t *out)
{
	unsigned n = 0;
	static const unsigned qregs[] = { 0x034, 0x038, 0x044, 0x080, 0x084, 0x090,
					  0x094, 0x0a0, 0x0a4 };

	out[n++] = rd(0x070);
	out[n++] = rd(0x060);
	out[n++] = rd(0x0fc);
	for (unsigned i = 0; i < 2; i++) {
		wr(0x014, i);
		out[n++] = rd(0x010);
	}
	for (unsigned q = 0; q < nq; q++) {
		wr(0x030, q);
		for (unsigned i = 0; i < sizeof(qregs) / sizeof(qregs[0]); i++)
			out[n++] = rd(qregs[i]);
	}
	for (unsigned off = 0x100; off < 0x140; off += 4)
		out[n++] = rd(off);
	wr(0x030, 0);
}
#define NREGS(nq) (5 + 9 * (nq) + 16)

static void set_desc(unsigned q, unsigned i, uint64_t addr, uint32_t len, uint16_t flags,
		     uint16_t next)
{
	struct virtq_desc d = { addr, len, flags, next };
	gmem_write(&vm.mem, DESC(q) + 16 * i, &d, 16);
}

static void publish(unsigned q, unsigned head)
{
	gmem_write16(&vm.mem, AVAIL(q) + 4 + 2 * (avail_idx[q] % QSZ), (uint16_t)head);
	avail_idx[q]++;
	__atomic_store_n((uint16_t *)host(AVAIL(q) + 2), avail_idx[q], __ATOMIC_RELEASE);
}

static uint16_t used_idx(unsigned q)
{
	return __atomic_load_n((uint16_t *)host(USED(q) + 2), __ATOMIC_ACQUIRE);
}

/* Wait until used->idx reaches want; true if it did. */
static bool wait_used_idx(unsigned q, uint16_t want, int ms)
{
	for (int i = 0; i < ms; i++) {
		if (used_idx(q) == want)
			return true;
		usleep(1000);
	}
	return false;
}

/* A virtio-blk read of one sector into BUF + 0x1000 * slot, with the
 * header and status next to it; descriptors 3*slot..3*slot+2. */
static void blk_post_read(unsigned slot, uint64_t sector)
{
	struct { uint32_t type, reserved; uint64_t sector; } hdr = { 0, 0, sector };
	uint64_t base = BUF + 0x1000 * slot;
	unsigned d = 3 * slot;

	gmem_write(&vm.mem, base, &hdr, sizeof(hdr));
	memset(host(base + 0x200), 0xee, 512);
	*host(base + 0x40) = 0xee;
	set_desc(0, d, base, 16, VIRTQ_DESC_F_NEXT, d + 1);
	set_desc(0, d + 1, base + 0x200, 512, VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE, d + 2);
	set_desc(0, d + 2, base + 0x40, 1, VIRTQ_DESC_F_WRITE, 0);
	publish(0, d);
}

static bool blk_read_ok(unsigned slot, uint64_t sector)
{
	uint64_t base = BUF + 0x1000 * slot;
	return *host(base + 0x40) == 0 && host(base + 0x200)[0] == (uint8_t)sector &&
	       host(base + 0x200)[511] == (uint8_t)sector;
}

/* Submit one read and wait for it. */
static bool blk_read(uint64_t sector)
{
	uint16_t want = (uint16_t)(seen_used[0] + 1);

	blk_post_read(0, sector);
	wr(0x050, 0);
	if (!wait_used_idx(0, want, 3000))
		return false;
	seen_used[0] = want;
	wr(0x064, rd(0x060));
	return blk_read_ok(0, sector);
}

static char *make_image(char *path, size_t pathsz)
{
	int fd;

	snprintf(path, pathsz, "/tmp/trevo-devlife-XXXXXX");
	fd = mkstemp(path);
	if (fd < 0 || ftruncate(fd, SECTORS * 512) < 0)
		return NULL;
	for (int s = 0; s < SECTORS; s++) {
		uint8_t buf[512];
		memset(buf, s, sizeof(buf));
		if (pwrite(fd, buf, 512, s * 512) != 512)
			return NULL;
	}
	close(fd);
	return path;
}

/* Offsets in the virtio core's state (virtio_device_state): version, id,
 * queue count, offered features, driver features, status, config
 * generation (33 bytes), the mmio transport's four registers (16), then per
 * queue: size (u16), ready, desc, avail, used, broken, notify_enabled,
 * last_avail (u16), used_idx (u16), ... */
#define ST_STATUS 28
#define ST_Q0 49
#define ST_Q0_SIZE (ST_Q0 + 0)
#define ST_Q0_LAST_AVAIL (ST_Q0 + 29)

static void put16(uint8_t *p, uint16_t v) { memcpy(p, &v, 2); }
static uint16_t get16(const uint8_t *p) { uint16_t v; memcpy(&v, p, 2); return v; }

static bool powered_on(const char *id, int irq)
{
	win = window_of(id);
	wr(0x030, 0);
	return rd(0x070) == 0 && rd(0x060) == 0 && rd(0x0fc) == 0 && rd(0x044) == 0 &&
	       rd(0x038) == rd(0x034) && irq_level[irq] == 0;
}

static void test_blk(const char *img)
{
	struct dev_params p = { .irq = -1, .arg = img };
	uint32_t ra[NREGS(1)], rb[NREGS(1)];
	const uint64_t features = (1ULL << 32) | (1ULL << 29) | (1ULL << 28) | (1ULL << 9);
	struct device *a, *b, *rng;
	struct vmstate s;
	uint8_t *bad;
	bool ok;

	new_vm();
	CHECK("blk-life-create", vm_create_device(&vm, "virtio-blk", &p) == 0 &&
					 vm_create_device(&vm, "virtio-blk", &p) == 0 &&
					 vm_create_device(&vm, "virtio-rng", &(struct dev_params){ .irq = -1 }) == 0);
	a = dev("virtio-blk0");
	b = dev("virtio-blk1");
	rng = dev("virtio-rng0");
	CHECK("blk-life-doorbells",
	      vm.nr_doorbells == 3 && vm.doorbell[0].addr == vm.desc[0].base + 0x50 &&
		      vm.doorbell[0].len == 4 && vm.doorbell[0].data == 0 &&
		      vm.doorbell[1].addr == vm.desc[1].base + 0x50);

	/* 2.7: QueueNum takes powers of two up to QueueNumMax only. */
	win = window_of("virtio-blk1");
	wr(0x030, 0);
	wr(0x038, 12);
	ok = rd(0x038) == 256;
	wr(0x038, 512);
	ok = ok && rd(0x038) == 256;
	wr(0x038, 0);
	ok = ok && rd(0x038) == 256;
	wr(0x038, 8);
	CHECK("blk-queue-num-power-of-two", ok && rd(0x038) == 8);
	wr(0x070, 0);

	win = window_of("virtio-blk0");
	CHECK("blk-life-init", driver_init(VIRTIO_ID_BLOCK, 1, features));
	CHECK("blk-life-read", blk_read(3));
	/* The doorbell an engine would ring instead of the register write. */
	blk_post_read(0, 4);
	vm.doorbell[0].ring(vm.doorbell[0].opaque, vm.doorbell[0].data);
	CHECK("blk-life-doorbell-rings", wait_used_idx(0, (uint16_t)(seen_used[0] + 1), 3000) &&
						 blk_read_ok(0, 4));
	seen_used[0]++;
	wr(0x064, rd(0x060));

	/* Save A, load into the fresh B: same registers, and B serves the
	 * rings A left. */
	a->ops->pause(a->state);
	CHECK("blk-save", save(a, &s) == 0 && s.len > ST_Q0_LAST_AVAIL + 4 &&
				  get16(s.buf + ST_Q0_SIZE) == QSZ);
	read_regs(1, ra);
	b->ops->pause(b->state);
	CHECK("blk-load", load(b, s.buf, s.len) == 0);
	b->ops->resume(b->state);
	win = window_of("virtio-blk1");
	read_regs(1, rb);
	CHECK("blk-load-registers-identical", !memcmp(ra, rb, sizeof(ra)));
	CHECK("blk-after-load-request-completes", blk_read(7));
	CHECK("blk-stats", stat(b, "read-bytes") == 512 && stat(b, "queue0-requests") == 1 &&
				   stat(b, "queue0-notifications") == 1 &&
				   /* with EVENT_IDX and used_event left at 0, only the
				    * first completion interrupts (2.7.10) */
				   stat(a, "interrupts") == 1 && stat(b, "interrupts") == 0 &&
				   stat(a, "read-bytes") == 1024 && stat(b, "flushes") == 0);

	/* Pause with a request in flight: nothing reaches guest RAM while
	 * paused; resume completes it and the one posted meanwhile. */
	blk_post_read(0, 9);
	wr(0x050, 0);
	b->ops->pause(b->state);
	{
		uint16_t at_pause = used_idx(0);
		usleep(30000);
		ok = used_idx(0) == at_pause;
	}
	blk_post_read(1, 10);  /* made available while the VM is paused */
	usleep(30000);
	CHECK("blk-paused-writes-nothing", ok && used_idx(0) != (uint16_t)(seen_used[0] + 2));
	b->ops->resume(b->state);
	CHECK("blk-resume-completes", wait_used_idx(0, (uint16_t)(seen_used[0] + 2), 3000) &&
					      blk_read_ok(0, 9) && blk_read_ok(1, 10));
	seen_used[0] += 2;
	wr(0x064, rd(0x060));

	/* Hostile states: truncations, versions, sizes, cursors, a state of
	 * another model. Each is refused and leaves A at power-on. */
	vms_free(&s);
	b->ops->pause(b->state);
	save(b, &s);
	CHECK("blk-load-truncated-refused", truncations_refused(a, &s) &&
						    powered_on("virtio-blk0", vm.desc[0].irq));
	bad = malloc(s.len);
	memcpy(bad, s.buf, s.len);
	bad[0] = 99;
	CHECK("blk-load-new-version-refused", load(a, bad, s.len) == -EINVAL);
	memcpy(bad, s.buf, s.len);
	put16(bad + ST_Q0_SIZE, 12);
	CHECK("blk-load-size-not-power-of-two-refused",
	      load(a, bad, s.len) == -EINVAL && powered_on("virtio-blk0", vm.desc[0].irq));
	put16(bad + ST_Q0_SIZE, 512);
	CHECK("blk-load-size-above-max-refused", load(a, bad, s.len) == -EINVAL);
	put16(bad + ST_Q0_SIZE, 0);
	CHECK("blk-load-size-zero-refused", load(a, bad, s.len) == -EINVAL);
	memcpy(bad, s.buf, s.len);
	put16(bad + ST_Q0_LAST_AVAIL, (uint16_t)(get16(bad + ST_Q0_LAST_AVAIL) + 5));
	CHECK("blk-load-in-flight-refused", load(a, bad, s.len) == -EINVAL);
	memcpy(bad, s.buf, s.len);
	bad[ST_STATUS] = 0x30;
	CHECK("blk-load-bad-status-refused", load(a, bad, s.len) == -EINVAL);
	rng->ops->pause(rng->state);
	CHECK("blk-load-into-rng-refused", load(rng, s.buf, s.len) == -EINVAL);
	/* Every single-byte corruption: refused or accepted, never a crash,
	 * and the device still answers. */
	for (size_t i = 0; i < s.len; i++) {
		memcpy(bad, s.buf, s.len);
		bad[i] ^= 0xa5;
		(void)load(a, bad, s.len);
	}
	CHECK("blk-load-corrupt-bytes-survived", (win = window_of("virtio-blk0"), rd(0x000)) == 0x74726976);
	free(bad);
	vms_free(&s);
	a->ops->reset(a->state);

	/* System reset: the power-on state, line low. */
	b->ops->reset(b->state);
	CHECK("blk-reset-power-on", powered_on("virtio-blk1", vm.desc[1].irq));
	b->ops->resume(b->state);
	win = window_of("virtio-blk1");
	CHECK("blk-reset-reinit", driver_init(VIRTIO_ID_BLOCK, 1, features) && blk_read(5));
	destroy_vm();
	CHECK("blk-destroy", vm.devices == NULL);
}

static void test_rng(void)
{
	struct dev_params p = { .irq = -1 };
	uint32_t ra[NREGS(1)], rb[NREGS(1)];
	struct device *a, *b;
	struct vmstate s;
	uint16_t want;

	new_vm();
	vm_create_device(&vm, "virtio-rng", &p);
	vm_create_device(&vm, "virtio-rng", &p);
	a = dev("virtio-rng0");
	b = dev("virtio-rng1");
	win = window_of("virtio-rng0");
	CHECK("rng-life-init", driver_init(VIRTIO_ID_RNG, 1, 1ULL << 32));
	set_desc(0, 0, BUF, 32, VIRTQ_DESC_F_WRITE, 0);
	publish(0, 0);
	wr(0x050, 0);
	CHECK("rng-life-fill", used_idx(0) == 1 && stat(a, "bytes") == 32);
	a->ops->pause(a->state);
	save(a, &s);
	read_regs(1, ra);
	b->ops->pause(b->state);
	CHECK("rng-load", load(b, s.buf, s.len) == 0);
	b->ops->resume(b->state);
	win = window_of("virtio-rng1");
	read_regs(1, rb);
	CHECK("rng-load-registers-identical", !memcmp(ra, rb, sizeof(ra)));
	set_desc(0, 1, BUF + 64, 16, VIRTQ_DESC_F_WRITE, 0);
	publish(0, 1);
	wr(0x050, 0);
	want = 2;
	CHECK("rng-after-load-works", used_idx(0) == want && stat(b, "bytes") == 16);
	CHECK("rng-load-truncated-refused", truncations_refused(a, &s));
	vms_free(&s);
	b->ops->reset(b->state);
	CHECK("rng-reset-power-on", powered_on("virtio-rng1", vm.desc[1].irq));
	destroy_vm();
}

/* A frame of one byte after the virtio header with NEEDS_CSUM: the checksum
 * field cannot fit, so it is dropped (it used to wrap len - 2). */
static void test_net(void)
{
	struct dev_params p = { .irq = -1, .arg = "user" };
	uint32_t ra[NREGS(2)], rb[NREGS(2)];
	uint8_t hdr[13] = { 1 /* NEEDS_CSUM */ };
	struct device *a, *b;
	struct vmstate s;

	new_vm();
	CHECK("net-life-create", vm_create_device(&vm, "virtio-net", &p) == 0 &&
					 vm_create_device(&vm, "virtio-net", &p) == 0);
	a = dev("virtio-net0");
	b = dev("virtio-net1");
	win = window_of("virtio-net1");
	CHECK("net-mac-by-index", win->ops->read(win->opaque, 0x105, 1) == 0x57);
	win = window_of("virtio-net0");
	CHECK("net-mac-first", win->ops->read(win->opaque, 0x105, 1) == 0x56);
	CHECK("net-life-init", driver_init(VIRTIO_ID_NET, 2, (1ULL << 32) | 1 | (1ULL << 5)));
	gmem_write(&vm.mem, BUF, hdr, sizeof(hdr));
	set_desc(1, 0, BUF, sizeof(hdr), 0, 0);
	publish(1, 0);
	wr(0x050, 1);
	CHECK("net-tx-one-byte-csum-dropped", wait_used_idx(1, 1, 2000) &&
						      stat(a, "tx-dropped") == 1 &&
						      stat(a, "tx-frames") == 0);
	a->ops->pause(a->state);
	CHECK("net-save", save(a, &s) == 0);
	read_regs(2, ra);
	b->ops->pause(b->state);
	CHECK("net-load", load(b, s.buf, s.len) == 0);
	b->ops->resume(b->state);
	win = window_of("virtio-net1");
	read_regs(2, rb);
	CHECK("net-load-registers-identical", !memcmp(ra, rb, sizeof(ra)) &&
						      win->ops->read(win->opaque, 0x105, 1) == 0x56);
	/* B carries on with A's rings: a transmit completes. */
	set_desc(1, 1, BUF, sizeof(hdr), 0, 0);
	publish(1, 1);
	wr(0x050, 1);
	CHECK("net-after-load-works", wait_used_idx(1, 2, 2000) && stat(b, "tx-dropped") == 1);
	CHECK("net-load-truncated-refused", truncations_refused(a, &s));
	{
		uint8_t *bad = malloc(s.len);
		memcpy(bad, s.buf, s.len);
		bad[s.len - 1] = 7;  /* link status: only LINK_UP exists */
		CHECK("net-load-bad-link-status-refused", load(a, bad, s.len) == -EINVAL);
		free(bad);
	}
	vms_free(&s);
	b->ops->reset(b->state);
	CHECK("net-reset-power-on", powered_on("virtio-net1", vm.desc[1].irq));
	destroy_vm();
}

static int connect_unix(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int s = socket(AF_UNIX, SOCK_STREAM, 0);

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	if (connect(s, (struct sockaddr *)&sa, sizeof(sa))) {
		close(s);
		return -1;
	}
	usleep(100000);  /* let the loop accept the client */
	return s;
}

static bool start_console(char *path, size_t len)
{
	char spec[96];

	snprintf(path, len, "/tmp/trevo-devlife-%d.sock", getpid());
	snprintf(spec, sizeof(spec), "unix:%s", path);
	vm.loop = loop_create();
	loop_start(vm.loop);
	vm.console = console_create(&vm, spec);
	return vm.console != NULL;
}

/* Console input is not delivered while paused, and is on resume. */
static void test_console(void)
{
	struct dev_params p = { .irq = -1 };
	struct device *c;
	char path[64];
	int s;

	new_vm();
	if (!start_console(path, sizeof(path))) {
		printf("SKIP console-pause: no unix-socket console\n");
		destroy_vm();
		return;
	}
	CHECK("console-life-create", vm_create_device(&vm, "virtio-console", &p) == 0);
	c = dev("virtio-console0");
	win = window_of("virtio-console0");
	CHECK("console-life-init", driver_init(VIRTIO_ID_CONSOLE, 2, 1ULL << 32));
	s = connect_unix(path);
	set_desc(0, 0, BUF, 64, VIRTQ_DESC_F_WRITE, 0);
	publish(0, 0);
	wr(0x050, 0);
	c->ops->pause(c->state);
	CHECK("console-input-while-paused", s >= 0 && write(s, "hi", 2) == 2);
	usleep(150000);
	CHECK("console-paused-not-delivered", used_idx(0) == 0);
	c->ops->resume(c->state);
	CHECK("console-resume-delivers", wait_used_idx(0, 1, 2000) && !memcmp(host(BUF), "hi", 2) &&
						 stat(c, "rx-bytes") == 2);
	close(s);
	destroy_vm();
	unlink(path);
}

/* ---- NS16550A ---------------------------------------------------------- */

static const struct mmio_region *uart_win;
static uint8_t urd(unsigned r) { return (uint8_t)uart_win->ops->read(uart_win->opaque, r, 1); }
static void uwr(unsigned r, uint8_t v) { uart_win->ops->write(uart_win->opaque, r, v, 1); }

/* Registers in one order; reads with side effects (IIR, LSR, MSR) done
 * the same way on both sides. */
static void uart_regs(uint8_t *out)
{
	int n = 0;

	out[n++] = urd(1);
	out[n++] = urd(2);
	out[n++] = urd(3);
	out[n++] = urd(4);
	out[n++] = urd(5);
	out[n++] = urd(6);
	out[n++] = urd(7);
	uwr(3, urd(3) | 0x80);
	out[n++] = urd(0);
	out[n++] = urd(1);
	uwr(3, urd(3) & 0x7f);
}

static void test_uart(void)
{
	struct dev_params pa = { .base = 0x10000000, .irq = 10 }, pb = { .base = 0x10000100, .irq = 11 };
	const struct mmio_region *wa, *wb;
	uint8_t ra[9], rb[9], got[4];
	struct device *a, *b;
	struct vmstate s;
	char path[64];
	int sock;

	new_vm();
	if (!start_console(path, sizeof(path))) {
		printf("SKIP uart-life: no unix-socket console\n");
		destroy_vm();
		return;
	}
	CHECK("uart-life-create", vm_create_device(&vm, "ns16550a", &pa) == 0 &&
					  vm_create_device(&vm, "ns16550a", &pb) == 0);
	a = dev("ns16550a0");
	b = dev("ns16550a1");
	wa = bus_find(&vm.mmio, pa.base, 1);
	wb = bus_find(&vm.mmio, pb.base, 1);
	uart_win = wa;
	uwr(3, 0x83);
	uwr(0, 0x0c);
	uwr(1, 0x00);
	uwr(3, 0x03);
	uwr(2, 0xc1);           /* FIFO on, trigger 14 */
	uwr(4, 0x1b);           /* loopback */
	uwr(7, 0x5a);
	uwr(0, 'a');
	uwr(0, 'b');
	uwr(0, 'c');
	uwr(1, 0x05);           /* RDA + RLS interrupts */
	a->ops->pause(a->state);
	CHECK("uart-save", save(a, &s) == 0 && s.len == 42);
	b->ops->pause(b->state);
	CHECK("uart-load", load(b, s.buf, s.len) == 0);
	b->ops->resume(b->state);
	CHECK("uart-load-irq-line", irq_level[11] == irq_level[10] && irq_level[11] == 1);
	uart_regs(ra);
	uart_win = wb;
	uart_regs(rb);
	CHECK("uart-load-registers-identical", !memcmp(ra, rb, sizeof(ra)) && ra[6] == 0x5a);
	for (int i = 0; i < 3; i++)
		got[i] = urd(0);
	uwr(0, 'd');
	got[3] = urd(0);
	CHECK("uart-load-fifo-and-works", !memcmp(got, "abcd", 4) && stat(b, "tx-bytes") == 1 &&
						  stat(b, "rx-bytes") == 4);
	CHECK("uart-load-truncated-refused", truncations_refused(a, &s));
	{
		uint8_t *bad = malloc(s.len);
		memcpy(bad, s.buf, s.len);
		bad[37] = 17;       /* FIFO count above 16 */
		CHECK("uart-load-fifo-count-refused", load(a, bad, s.len) == -EINVAL);
		memcpy(bad, s.buf, s.len);
		bad[13] = 3;        /* no such trigger level */
		CHECK("uart-load-trigger-refused", load(a, bad, s.len) == -EINVAL);
		memcpy(bad, s.buf, s.len);
		bad[33] = 16;       /* FIFO head out of range */
		CHECK("uart-load-fifo-head-refused", load(a, bad, s.len) == -EINVAL);
		memcpy(bad, s.buf, s.len);
		bad[12] = 2;        /* a boolean that is neither */
		CHECK("uart-load-bool-refused", load(a, bad, s.len) == -EINVAL);
		free(bad);
	}
	vms_free(&s);
	b->ops->reset(b->state);
	CHECK("uart-reset-power-on", urd(1) == 0 && urd(2) == 0x01 && urd(3) == 0 && urd(4) == 0 &&
					     urd(5) == 0x60 && urd(7) == 0 && irq_level[11] == 0);
	/* Input is not taken while paused. */
	a->ops->reset(a->state);
	a->ops->resume(a->state);
	sock = connect_unix(path);
	uart_win = wa;
	b->ops->pause(b->state);  /* the console's receiver is the last UART */
	CHECK("uart-input-while-paused", sock >= 0 && write(sock, "z", 1) == 1);
	usleep(150000);
	uart_win = wb;
	CHECK("uart-paused-not-delivered", !(urd(5) & 1));
	b->ops->resume(b->state);
	CHECK("uart-resume-delivers", (urd(5) & 1) && urd(0) == 'z');
	close(sock);
	destroy_vm();
	unlink(path);
}

/* ---- goldfish RTC -------------------------------------------------------- */

static void test_rtc(void)
{
	struct dev_params pa = { .base = 0x101000, .irq = 12 }, pb = { .base = 0x102000, .irq = 13 };
	const struct mmio_region *wa, *wb;
	struct device *a, *b;
	struct vmstate s;
	uint64_t ta, tb;
	uint32_t lo;

	new_vm();
	vm.loop = loop_create();
	loop_start(vm.loop);
	CHECK("rtc-life-create", vm_create_device(&vm, "goldfish-rtc", &pa) == 0 &&
					 vm_create_device(&vm, "goldfish-rtc", &pb) == 0);
	a = dev("goldfish-rtc0");
	b = dev("goldfish-rtc1");
	wa = bus_find(&vm.mmio, pa.base, 4);
	wb = bus_find(&vm.mmio, pb.base, 4);
	/* Guest time: 2000 s after the epoch; an alarm an hour later. */
	wa->ops->write(wa->opaque, 0x04, 0, 4);
	wa->ops->write(wa->opaque, 0x00, 2000000000000ULL & 0xffffffff, 4);
	wa->ops->write(wa->opaque, 0x04, (uint32_t)(2000000000000ULL >> 32), 4);
	wa->ops->write(wa->opaque, 0x0c, (uint32_t)(5600000000000ULL >> 32), 4);
	wa->ops->write(wa->opaque, 0x08, (uint32_t)5600000000000ULL, 4);
	wa->ops->write(wa->opaque, 0x10, 1, 4);
	a->ops->pause(a->state);
	CHECK("rtc-save", save(a, &s) == 0 && s.len == 27);
	b->ops->pause(b->state);
	CHECK("rtc-load", load(b, s.buf, s.len) == 0);
	b->ops->resume(b->state);
	a->ops->resume(a->state);
	lo = (uint32_t)wa->ops->read(wa->opaque, 0x00, 4);
	ta = (uint64_t)wa->ops->read(wa->opaque, 0x04, 4) << 32 | lo;
	lo = (uint32_t)wb->ops->read(wb->opaque, 0x00, 4);
	tb = (uint64_t)wb->ops->read(wb->opaque, 0x04, 4) << 32 | lo;
	CHECK("rtc-load-registers-identical",
	      wb->ops->read(wb->opaque, 0x08, 4) == wa->ops->read(wa->opaque, 0x08, 4) &&
		      wb->ops->read(wb->opaque, 0x0c, 4) == wa->ops->read(wa->opaque, 0x0c, 4) &&
		      wb->ops->read(wb->opaque, 0x10, 4) == 1 && wb->ops->read(wb->opaque, 0x18, 4) == 1 &&
		      tb - ta < 1000000000ULL && ta / 1000000000ULL == 2000);
	/* B goes on: an alarm 20 ms ahead fires. */
	tb += 20000000;
	wb->ops->write(wb->opaque, 0x0c, (uint32_t)(tb >> 32), 4);
	wb->ops->write(wb->opaque, 0x08, (uint32_t)tb, 4);
	for (int i = 0; i < 1000 && !irq_level[13]; i++)
		usleep(1000);
	CHECK("rtc-after-load-alarm-fires", irq_level[13] == 1 && stat(b, "alarms") == 1);
	CHECK("rtc-load-truncated-refused", truncations_refused(a, &s));
	{
		uint8_t *bad = malloc(s.len);
		memcpy(bad, s.buf, s.len);
		bad[25] = 2;
		CHECK("rtc-load-bool-refused", load(a, bad, s.len) == -EINVAL);
		free(bad);
	}
	vms_free(&s);
	b->ops->reset(b->state);
	lo = (uint32_t)wb->ops->read(wb->opaque, 0x00, 4);
	tb = (uint64_t)wb->ops->read(wb->opaque, 0x04, 4) << 32 | lo;
	CHECK("rtc-reset-power-on", irq_level[13] == 0 && wb->ops->read(wb->opaque, 0x10, 4) == 0 &&
					    wb->ops->read(wb->opaque, 0x18, 4) == 0 &&
					    tb / 1000000000ULL == 2000 /* the clock keeps time */);
	destroy_vm();
}

/* ---- stateless devices ----------------------------------------------------- */

static void test_stateless(void)
{
	struct dev_params pt = { .base = 0x100000, .irq = -1 }, pp = { .base = 0x103000, .irq = -1 };
	struct device *t, *p;
	struct vmstate s;

	new_vm();
	CHECK("stateless-create", vm_create_device(&vm, "sifive-test", &pt) == 0 &&
					  vm_create_device(&vm, "pvpanic-mmio", &pp) == 0);
	t = dev("sifive-test0");
	p = dev("pvpanic-mmio0");
	t->ops->pause(t->state);
	CHECK("sifive-test-state", save(t, &s) == 0 && load(t, s.buf, s.len) == 0 &&
					   load(t, s.buf, 0) == -EINVAL);
	vms_free(&s);
	t->ops->reset(t->state);
	t->ops->resume(t->state);
	CHECK("pvpanic-state", save(p, &s) == 0 && load(p, s.buf, s.len) == 0 &&
				       load(p, s.buf, 2) == -EINVAL && stat(p, "panics") == 0);
	vms_free(&s);
	destroy_vm();
}

/* Every model on one VM, used a little, then destroyed. */
static void all_devices_lifecycle(const char *img)
{
	struct dev_params p = { .irq = -1, .arg = img };
	struct dev_params pn = { .irq = -1, .arg = "user" };
	struct dev_params pu = { .base = 0x10000000, .irq = 10 };
	struct dev_params pr = { .base = 0x101000, .irq = 12 };
	struct dev_params pt = { .base = 0x100000, .irq = -1 }, pp = { .base = 0x103000, .irq = -1 };
	char path[64];
	bool ok;

	new_vm();
	ok = start_console(path, sizeof(path));
	ok = ok && !vm_create_device(&vm, "ns16550a", &pu) &&
	     !vm_create_device(&vm, "goldfish-rtc", &pr) &&
	     !vm_create_device(&vm, "sifive-test", &pt) &&
	     !vm_create_device(&vm, "pvpanic-mmio", &pp) &&
	     !vm_create_device(&vm, "virtio-console", &(struct dev_params){ .irq = -1 }) &&
	     !vm_create_device(&vm, "virtio-rng", &(struct dev_params){ .irq = -1 }) &&
	     !vm_create_device(&vm, "virtio-blk", &p) && !vm_create_device(&vm, "virtio-net", &pn);
	if (ok) {
		win = window_of("virtio-blk0");
		ok = driver_init(VIRTIO_ID_BLOCK, 1, 1ULL << 32) && blk_read(2);
	}
	destroy_vm();
	unlink(path);
	CHECK("destroy-all-models", ok);
}

#if defined(__SANITIZE_ADDRESS__)
/* LeakSanitizer is off in the sanitized test run (ASAN_OPTIONS): run the
 * lifecycle again in a child with it on. */
static void leak_check(const char *self, const char *img)
{
	int out[2], status = 0;
	char buf[4096] = "";
	ssize_t n, got = 0;
	pid_t pid;

	if (pipe(out))
		return;
	pid = fork();
	if (pid == 0) {
		dup2(out[1], 1);
		dup2(out[1], 2);
		setenv("ASAN_OPTIONS", "detect_leaks=1:exitcode=23", 1);
		execl(self, self, "--leak-child", img, (char *)NULL);
		_exit(127);
	}
	close(out[1]);
	while ((n = read(out[0], buf + got, sizeof(buf) - 1 - got)) > 0)
		got += n;
	buf[got] = 0;
	close(out[0]);
	waitpid(pid, &status, 0);
	if (strstr(buf, "LeakSanitizer has encountered a fatal error") ||
	    strstr(buf, "LeakSanitizer does not work under ptrace")) {
		printf("SKIP destroy-no-leaks: LeakSanitizer cannot run here\n");
		return;
	}
	CHECK("destroy-no-leaks", WIFEXITED(status) && WEXITSTATUS(status) == 0);
	if (!(WIFEXITED(status) && WEXITSTATUS(status) == 0))
		fprintf(stderr, "%s\n", buf);
}
#endif

int main(int argc, char **argv)
{
	char img[64];

	if (argc == 3 && !strcmp(argv[1], "--leak-child")) {
		all_devices_lifecycle(argv[2]);
		return failures ? 1 : 0;
	}
	if (!make_image(img, sizeof(img))) {
		printf("FAIL devlife-image: cannot create a temporary image\n");
		return 1;
	}
	fprintf(stderr, "(expected 'saved state refused' messages follow)\n");
	test_blk(img);
	test_rng();
	test_net();
	test_console();
	test_uart();
	test_rtc();
	test_stateless();
	all_devices_lifecycle(img);
#if defined(__SANITIZE_ADDRESS__)
	leak_check("/proc/self/exe", img);
#else
	printf("SKIP destroy-no-leaks: checked in the sanitized build\n");
#endif
	unlink(img);
	(void)argc;
	return failures ? 1 : 0;
}
