/* A small virtio-mmio (version 2) block driver for the flat test guests
 * (blk.c, hostile.c): find a device's window among those trevo places at
 * 0xd0000000 and up, bring queue 0 up by the driver initialisation
 * sequence (virtio 1.2 sections 3.1.1, 4.2.3), post requests of one
 * 512-byte sector and poll for their completion. */
#ifndef GUEST_VBLK_H
#define GUEST_VBLK_H

#include "lib.h"

#define VIRTIO_WIN_BASE  0xd0000000UL
#define VIRTIO_WIN_SIZE  0x1000UL
#define VIRTIO_WIN_COUNT 16
#define VIRTIO_MAGIC     0x74726976u   /* "virt" */
#define VBLK_QSIZE 8

/* virtio-mmio registers (virtio 1.2, 4.2.2) */
enum {
	VIRTIO_MAGIC_VALUE = 0x000, VIRTIO_VERSION = 0x004, VIRTIO_DEVICE_ID = 0x008,
	VIRTIO_DEV_FEAT = 0x010, VIRTIO_DEV_FEAT_SEL = 0x014, VIRTIO_DRV_FEAT = 0x020,
	VIRTIO_DRV_FEAT_SEL = 0x024, VIRTIO_QUEUE_SEL = 0x030, VIRTIO_QUEUE_NUM_MAX = 0x034,
	VIRTIO_QUEUE_NUM = 0x038, VIRTIO_QUEUE_READY = 0x044, VIRTIO_QUEUE_NOTIFY = 0x050,
	VIRTIO_INT_STATUS = 0x060, VIRTIO_INT_ACK = 0x064, VIRTIO_STATUS = 0x070,
	VIRTIO_DESC_LO = 0x080, VIRTIO_DESC_HI = 0x084, VIRTIO_DRIVER_LO = 0x090,
	VIRTIO_DRIVER_HI = 0x094, VIRTIO_DEVICE_LO = 0x0a0, VIRTIO_DEVICE_HI = 0x0a4,
	VIRTIO_CONFIG = 0x100,
};

/* virtio-blk request types (5.2.6) */
#define VBLK_IN  0
#define VBLK_OUT 1

/* The window of the first device with this id, or 0. */
uint64_t virtio_find(uint32_t device_id);

/* Reset the device in win and bring it up with VIRTIO_F_VERSION_1 alone
 * and queue 0 of VBLK_QSIZE entries. NULL, or what went wrong. The rings
 * are cleared first (.bss survives a reboot). */
const char *vblk_init(uint64_t win);
uint32_t vblk_read(uint32_t off);
void vblk_write(uint32_t off, uint32_t v);

/* The sector buffer every request reads into or writes from. */
extern uint8_t vblk_data[512];

/* Put a request (header, vblk_data, status byte) on the avail ring; the
 * caller notifies (vblk_write(VIRTIO_QUEUE_NOTIFY, 0)) and waits. */
void vblk_post(uint32_t type, uint64_t sector);
uint16_t vblk_used_idx(void);
uint8_t vblk_status(void);

/* Post, notify, and poll the used ring (bounded): the request's status
 * byte (0 is success), or VBLK_TIMEOUT, or VBLK_NO_ISR when the used
 * buffer came without the interrupt status bit. */
#define VBLK_TIMEOUT 0x100
#define VBLK_NO_ISR  0x101
int vblk_request(uint32_t type, uint64_t sector);

#endif
