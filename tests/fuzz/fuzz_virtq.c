/* libFuzzer target for the virtqueue walker (src/dev/virtio.c): the input
 * becomes guest RAM holding the rings and descriptor tables, its first bytes
 * choose the queue geometry and features. Whatever the bytes, popping,
 * completing and notifying must stay inside guest RAM (ASan watches) and
 * never crash. */
#include <stdlib.h>
#include <string.h>

#include "dev/virtio.h"

#define RAM_BASE 0x80000000ULL
#define RAM_SIZE 0x10000ULL

static struct guest_mem mem;
static struct virtq_req req;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct virtq vq;
	uint8_t *ram;
	struct iovec iov[16];
	uint8_t scratch[64];

	if (size < 16)
		return 0;
	if (!mem.nr_regions && gmem_add_region(&mem, RAM_BASE, RAM_SIZE))
		abort();
	ram = mem.region[0].host;
	memset(ram, 0, RAM_SIZE);
	memcpy(ram, data + 16, size - 16 < RAM_SIZE ? size - 16 : RAM_SIZE);

	vq.mem = &mem;
	vq.max_size = 256;
	virtq_reset(&vq);
	/* 2.7: split queue sizes are powers of 2 (the transport refuses
	 * others); data[1] chooses a bad one now and then, which must only
	 * break the queue. */
	vq.size = (uint16_t)(1u << (data[0] % 9));
	if (data[1] == 0xff)
		vq.size = (uint16_t)(data[0] | 1);
	/* Ring addresses: mostly inside RAM, sometimes around its edges. */
	vq.desc = RAM_BASE + ((uint64_t)(data[2] | data[3] << 8) << 2) - (data[8] & 1 ? 64 : 0);
	vq.avail = RAM_BASE + ((uint64_t)(data[4] | data[5] << 8) << 1);
	vq.used = RAM_BASE + ((uint64_t)(data[6] | data[7] << 8) << 2);
	vq.event_idx = data[8] & 2;
	vq.indirect = data[8] & 4;
	vq.ready = !(data[8] & 8) || (data[9] & 1);
	vq.last_avail = (uint16_t)(data[10] | data[11] << 8);
	vq.used_idx = (uint16_t)(data[12] | data[13] << 8);

	for (int round = 0; round < 64; round++) {
		uint64_t got;
		int r;

		if (round == data[14] % 64)
			virtq_disable_notify(&vq);
		r = virtq_pop_chain(&vq, &req);
		if (r == 0 || r == -EPROTO) {
			if (!virtq_enable_notify(&vq))
				break;
			continue;
		}
		if (r == 1) {
			/* Exercise the request accessors on whatever we got. */
			virtq_req_read(&req, data[15], scratch, sizeof(scratch));
			virtq_req_write(&mem, &req, data[15] / 2, scratch, sizeof(scratch));
			virtq_req_iov(&req, true, 0, req.in_len, iov, 16, &got);
			virtq_req_iov(&req, false, 1, req.out_len, iov, 16, &got);
			for (unsigned i = 0; i < req.nr_out + req.nr_in; i++)
				if (req.seg[i].len)
					(void)*(volatile uint8_t *)(req.seg[i].host + req.seg[i].len - 1);
		}
		virtq_push_used(&vq, req.head, (uint32_t)req.in_len);
		virtq_should_notify(&vq);
	}
	return 0;
}
