/* libFuzzer target for the goldfish RTC (src/dev/goldfish_rtc.c, included
 * whole): register reads and writes at any offset and width (time halves
 * moved anywhere in 64 bits, alarms in the past, the future and across the
 * wrap, interrupt enable and clear), the timer expiring, pause/resume,
 * reset and a hostile saved state. The interrupt line must always be
 * "enabled and pending", and nothing may crash or trip UBSan (the clock is
 * host time plus a 64-bit offset: every sum must wrap as unsigned). */
#include <stdlib.h>
#include <string.h>

#include "dev/goldfish_rtc.c"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The event loop is never started here (vm.loop is NULL). */
int loop_add_fd(struct event_loop *l, int fd, uint32_t events, loop_fd_fn fn, void *opaque)
{
	(void)l; (void)fd; (void)events; (void)fn; (void)opaque;
	return -ENOSYS;
}
int loop_del_fd(struct event_loop *l, int fd) { (void)l; (void)fd; return 0; }

static struct vm_config cfg;
static struct vm vm;
static struct goldfish_rtc *rtc;
static int line = -1;

static void set_irq(void *ctx, unsigned irq, int level)
{
	(void)ctx;
	if (irq != 11 || (level != 0 && level != 1))
		abort();
	line = level;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!rtc) {
		struct dev_params p = { .base = 0x101000, .irq = 11 };
		void *state;
		vm.cfg = &cfg;
		vm.set_irq = set_irq;
		if (rtc_create(&vm, &p, &state))
			abort();
		rtc = state;
	}
	rtc_reset(rtc);
	rtc_set_time(rtc, host_realtime_ns());
	rtc->paused = false;
	/* 6-byte steps: op, offset, value (4). */
	for (; size >= 6; data += 6, size -= 6) {
		unsigned op = data[0], off = data[1];
		uint32_t v = (uint32_t)data[2] | (uint32_t)data[3] << 8 | (uint32_t)data[4] << 16 |
			     (uint32_t)data[5] << 24;
		unsigned width = 1u << (op >> 4 & 3);

		switch (op & 7) {
		case 0: case 1:
			rtc_write(rtc, off & 0x1c, v, 4);
			break;
		case 2:
			(void)rtc_read(rtc, off & 0x1c, 4);
			break;
		case 3:  /* anywhere in the page, any width */
			if (op & 8)
				rtc_write(rtc, (uint64_t)off << 4 | (v & 0xf), v, width);
			else
				(void)rtc_read(rtc, (uint64_t)off << 4 | (v & 0xf), width);
			break;
		case 4:  /* the timer fires (early, late, spuriously) */
			rtc_on_timer(rtc, 1);
			break;
		case 5:
			if (op & 8)
				rtc_pause(rtc);
			else
				rtc_resume(rtc);
			break;
		case 6:
			rtc_reset(rtc);
			break;
		case 7: {  /* save, mutate, load */
			struct vmstate s, l;
			vms_init_save(&s);
			if (rtc_state(rtc, &s))
				abort();
			if (s.len)
				s.buf[v % s.len] ^= (uint8_t)off;
			vms_init_load(&l, s.buf, (op & 8) ? s.len : v % (s.len + 1));
			(void)rtc_state(rtc, &l);
			vms_free(&s);
			break;
		}
		}
		if (line != -1 && line != (rtc->irq_enabled && rtc->irq_pending))
			abort();
	}
	return 0;
}
