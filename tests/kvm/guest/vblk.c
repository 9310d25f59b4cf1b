#include "vblk.h"

struct desc { uint64_t addr; uint32_t len; uint16_t flags, next; };
struct avail { uint16_t flags, idx, ring[VBLK_QSIZE], used_event; };
struct used_elem { uint32_t id, len; };
struct used { uint16_t flags, idx; struct used_elem ring[VBLK_QSIZE]; uint16_t avail_event; };
struct req_hdr { uint32_t type, reserved; uint64_t sector; };

static struct desc descs[VBLK_QSIZE] __attribute__((aligned(16)));
static struct avail avail __attribute__((aligned(2)));
static struct used used __attribute__((aligned(4)));
static struct req_hdr hdr;
static volatile uint8_t status_byte;
static uint64_t win;
uint8_t vblk_data[512] __attribute__((aligned(16)));

uint32_t vblk_read(uint32_t off) { return mmio_read32(win + off); }
void vblk_write(uint32_t off, uint32_t v) { mmio_write32(win + off, v); }

uint64_t virtio_find(uint32_t device_id)
{
	for (uint64_t w = VIRTIO_WIN_BASE; w < VIRTIO_WIN_BASE + VIRTIO_WIN_COUNT * VIRTIO_WIN_SIZE;
	     w += VIRTIO_WIN_SIZE)
		if (mmio_read32(w + VIRTIO_MAGIC_VALUE) == VIRTIO_MAGIC &&
		    mmio_read32(w + VIRTIO_DEVICE_ID) == device_id)
			return w;
	return 0;
}

const char *vblk_init(uint64_t w)
{
	win = w;
	memset(descs, 0, sizeof(descs));
	memset((void *)&avail, 0, sizeof(avail));
	memset((void *)&used, 0, sizeof(used));
	if (vblk_read(VIRTIO_VERSION) != 2)
		return "not virtio-mmio version 2";
	vblk_write(VIRTIO_STATUS, 0);
	if (vblk_read(VIRTIO_STATUS) != 0)
		return "the device did not reset";
	vblk_write(VIRTIO_STATUS, 1);          /* ACKNOWLEDGE */
	vblk_write(VIRTIO_STATUS, 1 | 2);      /* DRIVER */
	vblk_write(VIRTIO_DEV_FEAT_SEL, 1);
	if (!(vblk_read(VIRTIO_DEV_FEAT) & 1))
		return "no VIRTIO_F_VERSION_1";
	vblk_write(VIRTIO_DRV_FEAT_SEL, 0);
	vblk_write(VIRTIO_DRV_FEAT, 0);
	vblk_write(VIRTIO_DRV_FEAT_SEL, 1);
	vblk_write(VIRTIO_DRV_FEAT, 1);        /* VIRTIO_F_VERSION_1 only */
	vblk_write(VIRTIO_STATUS, 1 | 2 | 8);  /* FEATURES_OK */
	if (!(vblk_read(VIRTIO_STATUS) & 8))
		return "features refused";
	vblk_write(VIRTIO_QUEUE_SEL, 0);
	if (vblk_read(VIRTIO_QUEUE_NUM_MAX) < VBLK_QSIZE)
		return "queue too small";
	if (vblk_read(VIRTIO_QUEUE_READY) != 0)
		return "queue 0 still ready after the reset";
	vblk_write(VIRTIO_QUEUE_NUM, VBLK_QSIZE);
	vblk_write(VIRTIO_DESC_LO, (uint32_t)(uint64_t)descs);
	vblk_write(VIRTIO_DESC_HI, 0);
	vblk_write(VIRTIO_DRIVER_LO, (uint32_t)(uint64_t)&avail);
	vblk_write(VIRTIO_DRIVER_HI, 0);
	vblk_write(VIRTIO_DEVICE_LO, (uint32_t)(uint64_t)&used);
	vblk_write(VIRTIO_DEVICE_HI, 0);
	vblk_write(VIRTIO_QUEUE_READY, 1);
	vblk_write(VIRTIO_STATUS, 1 | 2 | 8 | 4);  /* DRIVER_OK */
	return 0;
}

void vblk_post(uint32_t type, uint64_t sector)
{
	hdr.type = type;
	hdr.sector = sector;
	status_byte = 0xff;
	descs[0] = (struct desc){ (uint64_t)&hdr, sizeof(hdr), 1, 1 };
	descs[1] = (struct desc){ (uint64_t)vblk_data, sizeof(vblk_data),
				  (uint16_t)(1 | (type == VBLK_IN ? 2 : 0)), 2 };
	descs[2] = (struct desc){ (uint64_t)&status_byte, 1, 2, 0 };
	avail.ring[avail.idx % VBLK_QSIZE] = 0;
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	avail.idx++;
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
}

uint16_t vblk_used_idx(void)
{
	return *(volatile uint16_t *)&used.idx;
}

uint8_t vblk_status(void)
{
	return status_byte;
}

int vblk_request(uint32_t type, uint64_t sector)
{
	uint16_t seen = vblk_used_idx();

	vblk_post(type, sector);
	vblk_write(VIRTIO_QUEUE_NOTIFY, 0);
	for (unsigned long spin = 0; vblk_used_idx() == seen; spin++) {
		__asm__ volatile("pause");
		if (spin > 200000000UL)
			return VBLK_TIMEOUT;
	}
	if (!(vblk_read(VIRTIO_INT_STATUS) & 1))
		return VBLK_NO_ISR;
	vblk_write(VIRTIO_INT_ACK, 1);
	return status_byte;
}
