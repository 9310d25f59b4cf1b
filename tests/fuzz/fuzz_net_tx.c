/* libFuzzer target for virtio-net's transmit path: the virtio_net_hdr and
 * frame a guest hands over, through checksum offload and TCPv4
 * segmentation (src/dev/virtio-net.c, included whole to reach its static
 * functions, and netoffload.c). Bit 0x80 of the first byte makes the back
 * end an IP stack (takes_large_tcp4, as slirp), so the whole-segment path
 * is fuzzed too; bit 0x40 makes its send fail, as a full tap does. Every
 * frame that reaches the back end must lie inside the device's buffers
 * (ASan checks the rest); a wire never gets a frame longer than the
 * request's own, nor a TSO segment longer than headers plus gso_size. */
#include "../../src/dev/virtio-net.c"

/* The back ends virtio-net.c links against but this target never reaches
 * (device creation); fuzz_stubs.c has the rest. */
struct net_backend *tap_open(const char *name) { (void)name; return NULL; }
struct net_backend *slirp_open(const char *o) { (void)o; return NULL; }

static size_t sent_frames, max_frame;
static bool send_fails;

static int fake_send(struct net_backend *b, const struct iovec *iov, int cnt)
{
	volatile uint8_t sink = 0;
	size_t len = 0;

	(void)b;
	for (int i = 0; i < cnt; i++) {
		if (iov[i].iov_len)  /* touch both ends: ASan checks them */
			sink ^= ((uint8_t *)iov[i].iov_base)[0] ^
				((uint8_t *)iov[i].iov_base)[iov[i].iov_len - 1];
		len += iov[i].iov_len;
	}
	if (send_fails)
		return -EAGAIN;
	sent_frames++;
	if (len > max_frame)
		max_frame = len;
	return 0;
}

static const struct net_backend_ops fake_ops = { .send = fake_send };

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct vnet *n;
	static struct net_backend be = { .ops = &fake_ops };
	static struct virtq_req req;
	uint8_t *copy;

	if (!n) {
		n = calloc(1, sizeof(*n));
		n->be = &be;
	}
	copy = malloc(size ? size : 1);
	memcpy(copy, data, size);
	/* The guest's buffer: split in two readable segments at a point the
	 * input chooses, as a driver may. */
	req.nr_out = 0;
	req.nr_in = 0;
	req.out_len = size;
	req.in_len = 0;
	if (size) {
		size_t cut = data[0] % (size + 1);
		if (cut)
			req.seg[req.nr_out++] = (struct virtq_seg){ 0x1000, (uint32_t)cut, copy };
		if (size - cut)
			req.seg[req.nr_out++] =
				(struct virtq_seg){ 0x9000, (uint32_t)(size - cut), copy + cut };
	}
	be.takes_large_tcp4 = size && (data[0] & 0x80);
	send_fails = size && (data[0] & 0x40);
	sent_frames = max_frame = 0;
	{
		struct net_counts c = { 0 };
		struct net_hdr h = { 0 };
		net_send_request(n, &req, &c);
		/* Each request is sent (as one or more frames) or dropped. */
		if (c.dropped > 1 || (c.dropped && c.frames) || c.frames != sent_frames)
			abort();
		if (send_fails && (c.frames || !c.dropped))
			abort();
		if (size >= HDR_LEN)
			memcpy(&h, data, HDR_LEN);
		/* Never more than the request held; a TSO segment at most
		 * 14 + 60 + 60 bytes of headers and one MSS, unless it went
		 * whole (one frame) to an IP stack. */
		if (c.frames && max_frame > size - HDR_LEN)
			abort();
		if (h.gso_type == VIRTIO_NET_HDR_GSO_TCPV4 && c.frames &&
		    (c.frames > 1 || !be.takes_large_tcp4) && max_frame > 14 + 60 + 60 + (size_t)h.gso_size)
			abort();
	}
	free(copy);
	return 0;
}
