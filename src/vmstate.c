#include "vmstate.h"

#include <stdlib.h>
#include <string.h>

void vms_init_save(struct vmstate *s)
{
	memset(s, 0, sizeof(*s));
}

void vms_init_load(struct vmstate *s, const void *buf, size_t len)
{
	memset(s, 0, sizeof(*s));
	s->loading = true;
	s->buf = (uint8_t *)buf;
	s->len = len;
}

void vms_free(struct vmstate *s)
{
	if (!s->loading)
		free(s->buf);
	s->buf = NULL;
	s->len = s->cap = s->pos = 0;
}

static void vms_fail(struct vmstate *s, int err)
{
	if (!s->err)
		s->err = err;
}

/* Both directions in one place: the field's bytes are copied to or from
 * the stream. Host byte order is little-endian on every host Trevo builds
 * for (x86-64, and later arm64/riscv64); the static assert below keeps it
 * honest. */
_Static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "vmstate assumes a little-endian host");

void vms_bytes(struct vmstate *s, void *p, size_t n)
{
	if (s->loading) {
		if (s->err || n > s->len - s->pos) {
			vms_fail(s, -EINVAL);
			memset(p, 0, n);
			return;
		}
		memcpy(p, s->buf + s->pos, n);
		s->pos += n;
		return;
	}
	if (s->err)
		return;
	if (n > s->cap - s->len) {
		size_t cap = s->cap ? s->cap : 256;
		uint8_t *nb;
		while (n > cap - s->len)
			cap *= 2;
		nb = realloc(s->buf, cap);
		if (!nb) {
			vms_fail(s, -ENOMEM);
			return;
		}
		s->buf = nb;
		s->cap = cap;
	}
	memcpy(s->buf + s->len, p, n);
	s->len += n;
}

void vms_u8(struct vmstate *s, uint8_t *v) { vms_bytes(s, v, 1); }
void vms_u16(struct vmstate *s, uint16_t *v) { vms_bytes(s, v, 2); }
void vms_u32(struct vmstate *s, uint32_t *v) { vms_bytes(s, v, 4); }
void vms_u64(struct vmstate *s, uint64_t *v) { vms_bytes(s, v, 8); }
void vms_i32(struct vmstate *s, int32_t *v) { vms_bytes(s, v, 4); }

void vms_bool(struct vmstate *s, bool *v)
{
	uint8_t b = *v;

	vms_u8(s, &b);
	if (s->loading) {
		vms_check(s, b <= 1, "boolean");
		*v = b == 1;
	}
}

void vms_int(struct vmstate *s, int *v)
{
	int32_t x = (int32_t)*v;

	vms_i32(s, &x);
	if (s->loading)
		*v = x;
}

bool vms_check(struct vmstate *s, bool cond, const char *what)
{
	if (!s->loading || cond)
		return true;
	if (!s->err)
		debug("vmstate: bad value for %s", what);
	vms_fail(s, -EINVAL);
	return false;
}

int vms_version(struct vmstate *s, uint32_t current)
{
	uint32_t v = current;

	vms_u32(s, &v);
	if (!s->loading)
		return (int)current;
	if (s->err || v == 0 || v > current) {
		vms_fail(s, -EINVAL);
		return -EINVAL;
	}
	return (int)v;
}
