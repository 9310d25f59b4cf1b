/* libFuzzer target for loading a saved device state (vmstate.h) as a
 * hostile file would present it: virtio-rng behind virtio-mmio, its state
 * saved after a real driver handshake, then mutated by the input (bytes
 * XORed in, the buffer cut short) and loaded. Whatever is accepted must
 * leave a device that serves requests without touching memory outside guest
 * RAM; whatever is refused must leave it at power-on. */
#include <stdlib.h>
#include <string.h>

#include "dev/virtio.h"
#include "vm.h"
#include "vmstate.h"

#define RAM_BASE 0x80000000ULL
#define RAM_SIZE 0x4000ULL

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct vm_config cfg;
static struct vm vm;
static const struct mmio_region *win;
static struct device *rng;
static uint8_t *good;
static size_t good_len;

static void set_irq(void *ctx, unsigned irq, int level)
{
	(void)ctx;
	(void)irq;
	(void)level;
}

static void wr(unsigned off, uint32_t v) { win->ops->write(win->opaque, off, v, 4); }
static uint32_t rd(unsigned off) { return (uint32_t)win->ops->read(win->opaque, off, 4); }

/* Driver handshake (3.1.1) with one queue of 8 at the start of RAM and one
 * request in flight, so the state holds non-trivial cursors. */
static void setup(void)
{
	struct dev_params p = { .irq = -1 };
	struct vmstate s;
	uint8_t *ram;

	vm.cfg = &cfg;
	vm.set_irq = set_irq;
	vm.mmio_alloc_next = 0x10001000;
	vm.mmio_alloc_end = 0x10002000;
	vm.irq_alloc_next = 1;
	vm.irq_alloc_end = 2;
	if (gmem_add_region(&vm.mem, RAM_BASE, RAM_SIZE) || vm_create_device(&vm, "virtio-rng", &p))
		abort();
	win = bus_find(&vm.mmio, 0x10001000, 4);
	rng = vm_find_device(&vm, "virtio-rng0");
	if (!win || !rng)
		abort();
	ram = vm.mem.region[0].host;
	wr(0x070, 3);
	wr(0x024, 1);
	wr(0x020, 1);
	wr(0x024, 0);
	wr(0x020, 1u << 29);
	wr(0x070, 3 | VIRTIO_STATUS_FEATURES_OK);
	wr(0x030, 0);
	wr(0x038, 8);
	wr(0x080, (uint32_t)RAM_BASE);
	wr(0x090, (uint32_t)RAM_BASE + 0x100);
	wr(0x0a0, (uint32_t)RAM_BASE + 0x200);
	wr(0x044, 1);
	wr(0x070, 3 | VIRTIO_STATUS_FEATURES_OK | VIRTIO_STATUS_DRIVER_OK);
	/* descriptor 0: 64 writable bytes at RAM + 0x800; avail idx 1 */
	struct virtq_desc d = { RAM_BASE + 0x800, 64, VIRTQ_DESC_F_WRITE, 0 };
	memcpy(ram, &d, sizeof(d));
	ram[0x102] = 1;
	wr(0x050, 0);
	rng->ops->pause(rng->state);
	vms_init_save(&s);
	if (rng->ops->state(rng->state, &s))
		abort();
	good = s.buf;
	good_len = s.len;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vmstate s;
	uint8_t *buf;
	size_t len;

	if (!win)
		setup();
	if (size < 1)
		return 0;
	/* First byte: how much to keep (255: all); the rest is XORed in. */
	len = data[0] == 255 ? good_len : data[0] % (good_len + 1);
	buf = malloc(good_len);
	memcpy(buf, good, good_len);
	for (size_t i = 1; i < size; i++)
		buf[(i - 1) % good_len] ^= data[i];
	vms_init_load(&s, buf, len);
	(void)rng->ops->state(rng->state, &s);
	rng->ops->resume(rng->state);
	/* Whatever was accepted: post a request and ring, read registers. */
	vm.mem.region[0].host[0x102] += 1;
	wr(0x050, 0);
	(void)rd(0x070);
	(void)rd(0x060);
	rng->ops->pause(rng->state);
	free(buf);
	return 0;
}
