/* virtio-blk through the virtio-mmio transport, as a guest driver would
 * drive it: register handshake, one queue in a RAM array, requests against
 * a temporary image file, completions raised from the I/O thread. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "unit_vm.h"
#include "dev/virtio.h"
#include "vm.h"

#define RAM_BASE 0x80000000ULL
#define RAM_SIZE (4ULL << 20)
#define QSZ 16
#define DESC (RAM_BASE + 0x1000)
#define AVAIL (RAM_BASE + 0x2000)
#define USED (RAM_BASE + 0x3000)
#define HDR (RAM_BASE + 0x10000)
#define DATA (RAM_BASE + 0x20000)
#define STATUS (RAM_BASE + 0x30000)
#define SECTORS 64

#include "check.h"

static _Atomic int irq_level, irq_count;

static void fake_set_irq(void *ctx, unsigned irq, int level)
{
	(void)ctx;
	(void)irq;
	if (level && !irq_level)
		irq_count++;
	irq_level = level;
}

static struct vm_config cfg;
static struct vm vm;
static const struct mmio_region *win;
static uint16_t avail_idx, seen_used;

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
		printf("FAIL blk-setup: cannot map RAM\n");
		exit(1);
	}
}

/* The driver side of 3.1.1 / 4.2.3.1 for one queue. */
static bool driver_init(uint64_t want_features, uint32_t *features_lo)
{
	win = bus_find(&vm.mmio, vm.desc[vm.nr_desc - 1].base, 4);
	if (!win || rd(0x000) != 0x74726976 || rd(0x004) != 2 || rd(0x008) != VIRTIO_ID_BLOCK)
		return false;
	wr(0x070, 0);
	wr(0x070, VIRTIO_STATUS_ACKNOWLEDGE);
	wr(0x070, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
	wr(0x014, 0);
	*features_lo = rd(0x010);
	wr(0x014, 1);
	if (!(rd(0x010) & 1))  /* VIRTIO_F_VERSION_1 */
		return false;
	wr(0x024, 0);
	wr(0x020, (uint32_t)want_features);
	wr(0x024, 1);
	wr(0x020, (uint32_t)(want_features >> 32));
	wr(0x070, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK);
	if (!(rd(0x070) & VIRTIO_STATUS_FEATURES_OK))
		return false;
	memset(host(RAM_BASE), 0, 0x4000);
	avail_idx = seen_used = 0;
	wr(0x030, 0);
	if (rd(0x034) < QSZ || rd(0x044) != 0)
		return false;
	wr(0x038, QSZ);
	wr(0x080, (uint32_t)DESC);
	wr(0x084, DESC >> 32);
	wr(0x090, (uint32_t)AVAIL);
	wr(0x094, AVAIL >> 32);
	wr(0x0a0, (uint32_t)USED);
	wr(0x0a4, USED >> 32);
	wr(0x044, 1);
	wr(0x070, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK |
			  VIRTIO_STATUS_DRIVER_OK);
	return rd(0x070) & VIRTIO_STATUS_DRIVER_OK;
}

static void set_desc(unsigned i, uint64_t addr, uint32_t len, uint16_t flags, uint16_t next)
{
	struct virtq_desc d = { addr, len, flags, next };
	gmem_write(&vm.mem, DESC + 16 * i, &d, 16);
}

/* Submit one request (header, optional data, status) and wait for it.
 * Returns the status byte, or -1 on timeout; *used_len gets the length. */
static int submit(uint32_t type, uint64_t sector, uint32_t data_len, bool data_writable,
		  uint32_t *used_len)
{
	struct { uint32_t type, reserved; uint64_t sector; } hdr = { type, 0, sector };
	uint16_t ring_slot = avail_idx % QSZ;
	unsigned n = 0;

	gmem_write(&vm.mem, HDR, &hdr, sizeof(hdr));
	*host(STATUS) = 0xee;
	set_desc(n, HDR, 16, VIRTQ_DESC_F_NEXT, n + 1);
	n++;
	if (data_len) {
		set_desc(n, DATA, data_len,
			 VIRTQ_DESC_F_NEXT | (data_writable ? VIRTQ_DESC_F_WRITE : 0), n + 1);
		n++;
	}
	set_desc(n, STATUS, 1, VIRTQ_DESC_F_WRITE, 0);
	gmem_write16(&vm.mem, AVAIL + 4 + 2 * ring_slot, 0);
	avail_idx++;
	__atomic_store_n((uint16_t *)host(AVAIL + 2), avail_idx, __ATOMIC_RELEASE);
	wr(0x050, 0);
	for (int i = 0; i < 5000; i++) {
		uint16_t used = __atomic_load_n((uint16_t *)host(USED + 2), __ATOMIC_ACQUIRE);
		if (used != seen_used) {
			uint32_t elem[2];
			gmem_read(&vm.mem, USED + 4 + 8 * (seen_used % QSZ), elem, 8);
			seen_used++;
			*used_len = elem[1];
			/* Acknowledge the interrupt as the driver does. */
			wr(0x064, rd(0x060));
			return *host(STATUS);
		}
		usleep(1000);
	}
	return -1;
}

static char *make_image(char *path, size_t pathsz)
{
	int fd;

	snprintf(path, pathsz, "/tmp/trevo-blk-test-XXXXXX");
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

static void test_rw(const char *img)
{
	struct dev_params p = { .irq = -1, .arg = img };
	uint32_t lo, len;
	uint8_t buf[1024];
	int fd, st;

	new_vm();
	CHECK("blk-create", vm_create_device(&vm, "virtio-blk", &p) == 0 && vm.nr_desc == 1 &&
				    !strcmp(vm.desc[0].compatible, "virtio,mmio") &&
				    vm.desc[0].base == 0x10001000 && vm.desc[0].irq == 1);
	CHECK("blk-init", driver_init((1ULL << 32) | (1ULL << 9) | (1ULL << 29) | (1ULL << 28) |
					      (1ULL << 13) | (1ULL << 14),
				      &lo));
	CHECK("blk-features", (lo & (1u << 9)) && !(lo & (1u << 5)) && (lo & (1u << 28)) &&
				      (lo & (1u << 29)));
	CHECK("blk-capacity", rd(0x100) == SECTORS && rd(0x104) == 0 && rd(0x114) == 512);
	CHECK("blk-config-bytes", win->ops->read(win->opaque, 0x100, 1) == SECTORS &&
					  win->ops->read(win->opaque, 0x100, 8) == SECTORS &&
					  win->ops->read(win->opaque, 0x100 + 200, 4) == 0);

	st = submit(0 /* IN */, 3, 1024, true, &len);
	CHECK("blk-read", st == 0 && len == 1025 && host(DATA)[0] == 3 && host(DATA)[1023] == 4);
	CHECK("blk-interrupt", irq_count >= 1 && irq_level == 0);

	memset(host(DATA), 0xc5, 1024);
	st = submit(1 /* OUT */, 10, 1024, false, &len);
	fd = open(img, O_RDONLY);
	CHECK("blk-write", st == 0 && len == 1 && pread(fd, buf, 1024, 10 * 512) == 1024 &&
				   buf[0] == 0xc5 && buf[1023] == 0xc5);
	memset(host(DATA), 0, 1024);
	st = submit(0, 10, 1024, true, &len);
	CHECK("blk-read-back", st == 0 && host(DATA)[0] == 0xc5 && host(DATA)[1023] == 0xc5);

	st = submit(4 /* FLUSH */, 0, 0, false, &len);
	CHECK("blk-flush", st == 0 && len == 1);

	memset(host(DATA), 0, 64);
	st = submit(8 /* GET_ID */, 0, 20, true, &len);
	CHECK("blk-get-id", st == 0 && len == 21 && !memcmp(host(DATA), "trevo-blk-test-", 15));

	st = submit(0, SECTORS - 1, 1024, true, &len);
	CHECK("blk-read-out-of-range", st == 1 /* IOERR */);
	st = submit(1, SECTORS, 512, false, &len);
	CHECK("blk-write-out-of-range", st == 1);
	st = submit(0, UINT64_MAX, 512, true, &len);
	CHECK("blk-sector-overflow", st == 1);
	st = submit(0, 0, 100, true, &len);
	CHECK("blk-partial-sector", st == 1);
	st = submit(77, 0, 0, false, &len);
	CHECK("blk-unsupported", st == 2 /* UNSUPP */);

	/* WRITE_ZEROES of sectors 10..11, then DISCARD of 12. */
	{
		struct { uint64_t sector; uint32_t num, flags; } r = { 10, 2, 0 };
		gmem_write(&vm.mem, DATA, &r, sizeof(r));
		st = submit(13, 0, 16, false, &len);
		CHECK("blk-write-zeroes", st == 0 && pread(fd, buf, 1024, 10 * 512) == 1024 &&
						  buf[0] == 0 && buf[1023] == 0);
		r = (typeof(r)){ 12, 1, 0 };
		gmem_write(&vm.mem, DATA, &r, sizeof(r));
		st = submit(11, 0, 16, false, &len);
		CHECK("blk-discard", st == 0 && pread(fd, buf, 512, 12 * 512) == 512 &&
					     buf[0] == 0 && buf[511] == 0);
		r = (typeof(r)){ SECTORS - 1, 2, 0 };
		gmem_write(&vm.mem, DATA, &r, sizeof(r));
		st = submit(13, 0, 16, false, &len);
		CHECK("blk-write-zeroes-out-of-range", st == 1);
	}
	close(fd);

	/* A request without a status byte cannot be answered: used len 0,
	 * and the device carries on. */
	{
		uint16_t slot = avail_idx % QSZ;
		set_desc(0, HDR, 16, 0, 0);
		gmem_write16(&vm.mem, AVAIL + 4 + 2 * slot, 0);
		avail_idx++;
		gmem_write16(&vm.mem, AVAIL + 2, avail_idx);
		wr(0x050, 0);
		usleep(20000);
		seen_used++;
		st = submit(0, 1, 512, true, &len);
		CHECK("blk-no-status-survives", st == 0 && host(DATA)[0] == 1);
	}

	/* A malformed ring: DEVICE_NEEDS_RESET and a config interrupt; a
	 * reset brings the device back. */
	gmem_write16(&vm.mem, AVAIL + 2, avail_idx + QSZ + 3);
	wr(0x050, 0);
	for (int i = 0; i < 2000 && !(rd(0x070) & VIRTIO_STATUS_DEVICE_NEEDS_RESET); i++)
		usleep(1000);
	CHECK("blk-needs-reset", (rd(0x070) & VIRTIO_STATUS_DEVICE_NEEDS_RESET) && (rd(0x060) & 2));
	wr(0x070, 0);
	CHECK("blk-reset", rd(0x070) == 0 && rd(0x060) == 0 && irq_level == 0 &&
				   (wr(0x030, 0), rd(0x044) == 0));
	CHECK("blk-reinit", driver_init((1ULL << 32) | (1ULL << 28), &lo));
	st = submit(0, 5, 512, true, &len);
	CHECK("blk-after-reset", st == 0 && host(DATA)[0] == 5);

	/* Feature negotiation: no VERSION_1, or a feature we did not offer,
	 * leaves FEATURES_OK clear. */
	wr(0x070, 0);
	wr(0x070, 3);
	wr(0x024, 1);
	wr(0x020, 0);
	wr(0x070, 3 | VIRTIO_STATUS_FEATURES_OK);
	CHECK("blk-legacy-refused", !(rd(0x070) & VIRTIO_STATUS_FEATURES_OK));
	wr(0x070, 0);
	wr(0x070, 3);
	wr(0x024, 1);
	wr(0x020, 1 | (1u << 20));
	wr(0x070, 3 | VIRTIO_STATUS_FEATURES_OK);
	CHECK("blk-unknown-feature-refused", !(rd(0x070) & VIRTIO_STATUS_FEATURES_OK));
	/* Garbage register traffic never hurts. */
	for (unsigned off = 0; off < 0x1000; off += 2)
		win->ops->write(win->opaque, off, 0xffffffff, off & 2 ? 2 : 4);
	CHECK("blk-garbage-writes", rd(0x000) == 0x74726976);
	wr(0x070, 0);
}

/* The guest cannot make the host allocate without bound: hundreds of
 * requests of 3 MiB each, at sectors far past the image's end, as reads and
 * writes. Data moves straight between the image and guest RAM, so the
 * process's resident size must not grow by more than a little. */
static long resident_kib(void)
{
	long pages = 0, rss = 0;
	FILE *f = fopen("/proc/self/statm", "r");

	if (f) {
		if (fscanf(f, "%ld %ld", &pages, &rss) != 2)
			rss = 0;
		fclose(f);
	}
	return rss * (sysconf(_SC_PAGESIZE) / 1024);
}

static void test_bounded(const char *img)
{
	struct dev_params p = { .irq = -1, .arg = img };
	uint32_t lo, len;
	long before;
	int done = 0;

	new_vm();
	if (vm_create_device(&vm, "virtio-blk", &p) || !driver_init(1ULL << 32, &lo)) {
		CHECK("blk-bounded-init", false);
		return;
	}
	memset(host(DATA), 0x5a, 3 << 20);  /* fault the data area in first */
	before = resident_kib();
	for (int i = 0; i < 400; i++) {
		bool in = i & 1;
		int st = submit(in ? 0 : 1, (1ULL << 40) + i * 6144ULL, 3 << 20, in, &len);
		if (st < 0)
			break;
		done += st == 1;  /* VIRTIO_BLK_S_IOERR: past the end */
	}
	CHECK("blk-bounded-requests", done == 400);
	CHECK("blk-bounded-memory", resident_kib() - before < 2048);
}

static void test_readonly(const char *img)
{
	char arg[256];
	struct dev_params p = { .irq = -1, .arg = arg };
	uint32_t lo, len;
	int st;

	snprintf(arg, sizeof(arg), "%s,readonly", img);
	new_vm();
	CHECK("blk-ro-create", vm_create_device(&vm, "virtio-blk", &p) == 0);
	CHECK("blk-ro-init", driver_init((1ULL << 32) | (1ULL << 5), &lo));
	CHECK("blk-ro-feature", (lo & (1u << 5)) && !(lo & (1u << 13)));
	st = submit(1, 0, 512, false, &len);
	CHECK("blk-ro-write-fails", st == 1);
	st = submit(0, 2, 512, true, &len);
	CHECK("blk-ro-read", st == 0 && host(DATA)[0] == 2);
	wr(0x070, 0);
}

static void test_bad_args(void)
{
	struct dev_params p = { .irq = -1, .arg = "/nonexistent/trevo-disk.img" };

	new_vm();
	fprintf(stderr, "(expected errors follow)\n");
	CHECK("blk-missing-file", vm_create_device(&vm, "virtio-blk", &p) == -ENOENT &&
					  vm.nr_desc == 0 && vm.mmio.nr == 0);
	p.arg = "/dev/null,bogus";
	CHECK("blk-bad-option", vm_create_device(&vm, "virtio-blk", &p) == -EINVAL);
	p.arg = "";
	CHECK("blk-empty-arg", vm_create_device(&vm, "virtio-blk", &p) == -EINVAL);
	p.arg = NULL;
	CHECK("blk-null-arg", vm_create_device(&vm, "virtio-blk", &p) == -EINVAL);
}

int main(void)
{
	char img[64];

	if (!make_image(img, sizeof(img))) {
		printf("FAIL blk-image: cannot create a temporary image\n");
		return 1;
	}
	test_rw(img);
	test_readonly(img);
	test_bounded(img);
	test_bad_args();
	unlink(img);
	unit_vm_free(&vm);
	return failures ? 1 : 0;
}
