/* x86-64 encodings (see emit.h). */
#include <string.h>

#include "emit.h"

void x86_bytes(struct x86_buf *b, const void *p, unsigned n)
{
	if (b->overflow || (size_t)(b->end - b->p) < n) {
		b->overflow = true;
		return;
	}
	memcpy(b->p, p, n);
	b->p += n;
}

void x86_u8(struct x86_buf *b, uint8_t v)
{
	x86_bytes(b, &v, 1);
}

void x86_u32(struct x86_buf *b, uint32_t v)
{
	x86_bytes(b, &v, 4);
}

/* REX: W, R (reg bit 3), X (index bit 3), B (base/rm bit 3). force: a byte
 * register 4-7 (spl..dil) needs a REX to not mean ah..bh. */
static void rex(struct x86_buf *b, int w, int reg, int index, int base, bool force)
{
	uint8_t r = 0x40 | (w ? 8 : 0) | ((reg & 8) ? 4 : 0) | ((index >= 0 && (index & 8)) ? 2 : 0) |
		    ((base >= 0 && (base & 8)) ? 1 : 0);
	if (r != 0x40 || force)
		x86_u8(b, r);
}

/* ModR/M (+SIB, +disp) for reg and memory operand m. */
static void modrm_mem(struct x86_buf *b, int reg, struct x86_mem m)
{
	int mod = (m.disp == 0 && (m.base & 7) != RBP) ? 0 : (m.disp >= -128 && m.disp <= 127) ? 1 : 2;
	bool sib = m.index >= 0 || (m.base & 7) == RSP;

	if (sib) {
		int ss = m.scale == 8 ? 3 : m.scale == 4 ? 2 : m.scale == 2 ? 1 : 0;
		int idx = m.index >= 0 ? (m.index & 7) : RSP; /* 100: no index */
		x86_u8(b, (uint8_t)(mod << 6 | (reg & 7) << 3 | 4));
		x86_u8(b, (uint8_t)(ss << 6 | idx << 3 | (m.base & 7)));
	} else {
		x86_u8(b, (uint8_t)(mod << 6 | (reg & 7) << 3 | (m.base & 7)));
	}
	if (mod == 1)
		x86_u8(b, (uint8_t)(int8_t)m.disp);
	else if (mod == 2)
		x86_u32(b, (uint32_t)m.disp);
}

static void op_mem(struct x86_buf *b, int w, const uint8_t *opc, unsigned n, int reg,
		   struct x86_mem m, bool byte_reg)
{
	rex(b, w, reg, m.index, m.base, byte_reg && reg >= 4 && reg < 8);
	x86_bytes(b, opc, n);
	modrm_mem(b, reg, m);
}

static void op_rr(struct x86_buf *b, int w, const uint8_t *opc, unsigned n, int reg, int rm,
		  bool byte_reg)
{
	rex(b, w, reg, -1, rm, byte_reg && rm >= 4 && rm < 8);
	x86_bytes(b, opc, n);
	x86_u8(b, (uint8_t)(0xc0 | (reg & 7) << 3 | (rm & 7)));
}

void x86_mov_rr(struct x86_buf *b, int w, int dst, int src)
{
	op_rr(b, w, (const uint8_t[]){ 0x8b }, 1, dst, src, false);
}

void x86_load(struct x86_buf *b, int w, int dst, struct x86_mem m)
{
	op_mem(b, w, (const uint8_t[]){ 0x8b }, 1, dst, m, false);
}

void x86_store(struct x86_buf *b, int size, struct x86_mem m, int src)
{
	switch (size) {
	case 1: op_mem(b, 0, (const uint8_t[]){ 0x88 }, 1, src, m, true); break;
	case 2:
		x86_u8(b, 0x66);
		op_mem(b, 0, (const uint8_t[]){ 0x89 }, 1, src, m, false);
		break;
	case 4: op_mem(b, 0, (const uint8_t[]){ 0x89 }, 1, src, m, false); break;
	default: op_mem(b, 1, (const uint8_t[]){ 0x89 }, 1, src, m, false); break;
	}
}

void x86_store_imm32(struct x86_buf *b, struct x86_mem m, int32_t imm)
{
	op_mem(b, 1, (const uint8_t[]){ 0xc7 }, 1, 0, m, false);
	x86_u32(b, (uint32_t)imm);
}

void x86_mov_imm(struct x86_buf *b, int dst, uint64_t imm)
{
	if (imm == 0) {
		x86_alu_rr(b, 0, ALU_XOR, dst, dst);
	} else if (imm <= 0xffffffffULL) {
		rex(b, 0, 0, -1, dst, false);
		x86_u8(b, (uint8_t)(0xb8 + (dst & 7)));
		x86_u32(b, (uint32_t)imm);
	} else if ((int64_t)imm == (int32_t)imm) {
		rex(b, 1, 0, -1, dst, false);
		x86_u8(b, 0xc7);
		x86_u8(b, (uint8_t)(0xc0 | (dst & 7)));
		x86_u32(b, (uint32_t)imm);
	} else {
		rex(b, 1, 0, -1, dst, false);
		x86_u8(b, (uint8_t)(0xb8 + (dst & 7)));
		x86_bytes(b, &imm, 8);
	}
}

void x86_movsx(struct x86_buf *b, int size, int dst, struct x86_mem m)
{
	if (size == 4)
		op_mem(b, 1, (const uint8_t[]){ 0x63 }, 1, dst, m, false);
	else
		op_mem(b, 1, (const uint8_t[]){ 0x0f, size == 1 ? 0xbe : 0xbf }, 2, dst, m, false);
}

void x86_movzx(struct x86_buf *b, int size, int dst, struct x86_mem m)
{
	/* the 32-bit form zero-extends to 64 bits */
	op_mem(b, 0, (const uint8_t[]){ 0x0f, size == 1 ? 0xb6 : 0xb7 }, 2, dst, m, false);
}

void x86_movzx8_rr(struct x86_buf *b, int dst, int src)
{
	rex(b, 0, dst, -1, src, src >= 4 && src < 8);
	x86_bytes(b, (const uint8_t[]){ 0x0f, 0xb6 }, 2);
	x86_u8(b, (uint8_t)(0xc0 | (dst & 7) << 3 | (src & 7)));
}

void x86_movsxd_rr(struct x86_buf *b, int dst, int src)
{
	op_rr(b, 1, (const uint8_t[]){ 0x63 }, 1, dst, src, false);
}

void x86_lea(struct x86_buf *b, int dst, struct x86_mem m)
{
	op_mem(b, 1, (const uint8_t[]){ 0x8d }, 1, dst, m, false);
}

void x86_alu_rr(struct x86_buf *b, int w, enum x86_alu op, int dst, int src)
{
	op_rr(b, w, (const uint8_t[]){ (uint8_t)(op << 3 | 3) }, 1, dst, src, false);
}

void x86_alu_rm(struct x86_buf *b, int w, enum x86_alu op, int dst, struct x86_mem m)
{
	op_mem(b, w, (const uint8_t[]){ (uint8_t)(op << 3 | 3) }, 1, dst, m, false);
}

void x86_alu_ri(struct x86_buf *b, int w, enum x86_alu op, int dst, int32_t imm)
{
	if (imm >= -128 && imm <= 127) {
		op_rr(b, w, (const uint8_t[]){ 0x83 }, 1, op, dst, false);
		x86_u8(b, (uint8_t)(int8_t)imm);
	} else {
		op_rr(b, w, (const uint8_t[]){ 0x81 }, 1, op, dst, false);
		x86_u32(b, (uint32_t)imm);
	}
}

void x86_alu_mi(struct x86_buf *b, int w, enum x86_alu op, struct x86_mem m, int32_t imm)
{
	if (imm >= -128 && imm <= 127) {
		op_mem(b, w, (const uint8_t[]){ 0x83 }, 1, op, m, false);
		x86_u8(b, (uint8_t)(int8_t)imm);
	} else {
		op_mem(b, w, (const uint8_t[]){ 0x81 }, 1, op, m, false);
		x86_u32(b, (uint32_t)imm);
	}
}

void x86_test_rr(struct x86_buf *b, int w, int a, int c)
{
	op_rr(b, w, (const uint8_t[]){ 0x85 }, 1, c, a, false);
}

void x86_test_ri(struct x86_buf *b, int w, int reg, int32_t imm)
{
	if (reg == RAX && imm >= 0 && imm <= 255 && !w) {
		x86_u8(b, 0xa8);  /* test al, imm8 */
		x86_u8(b, (uint8_t)imm);
		return;
	}
	op_rr(b, w, (const uint8_t[]){ 0xf7 }, 1, 0, reg, false);
	x86_u32(b, (uint32_t)imm);
}

void x86_shift_ri(struct x86_buf *b, int w, enum x86_shift op, int reg, uint8_t n)
{
	op_rr(b, w, (const uint8_t[]){ 0xc1 }, 1, op, reg, false);
	x86_u8(b, n);
}

void x86_shift_rcl(struct x86_buf *b, int w, enum x86_shift op, int reg)
{
	op_rr(b, w, (const uint8_t[]){ 0xd3 }, 1, op, reg, false);
}

void x86_imul_rm(struct x86_buf *b, int w, int dst, struct x86_mem m)
{
	op_mem(b, w, (const uint8_t[]){ 0x0f, 0xaf }, 2, dst, m, false);
}

void x86_imul_rr(struct x86_buf *b, int w, int dst, int src)
{
	op_rr(b, w, (const uint8_t[]){ 0x0f, 0xaf }, 2, dst, src, false);
}

void x86_mul_r(struct x86_buf *b, bool is_signed, int reg)
{
	op_rr(b, 1, (const uint8_t[]){ 0xf7 }, 1, is_signed ? 5 : 4, reg, false);
}

void x86_imul_rri(struct x86_buf *b, int w, int dst, int src, int32_t imm)
{
	if (imm >= -128 && imm <= 127) {
		op_rr(b, w, (const uint8_t[]){ 0x6b }, 1, dst, src, false);
		x86_u8(b, (uint8_t)(int8_t)imm);
	} else {
		op_rr(b, w, (const uint8_t[]){ 0x69 }, 1, dst, src, false);
		x86_u32(b, (uint32_t)imm);
	}
}

void x86_mul_m(struct x86_buf *b, bool is_signed, struct x86_mem m)
{
	op_mem(b, 1, (const uint8_t[]){ 0xf7 }, 1, is_signed ? 5 : 4, m, false);
}

void x86_setcc(struct x86_buf *b, enum x86_cc cc, int reg8)
{
	op_rr(b, 0, (const uint8_t[]){ 0x0f, (uint8_t)(0x90 | cc) }, 2, 0, reg8, true);
}

void x86_sse_rm(struct x86_buf *b, enum x86_sse_pfx pfx, int w, enum x86_sse_op op, int reg,
		struct x86_mem m)
{
	if (pfx)
		x86_u8(b, (uint8_t)pfx);
	op_mem(b, w, (const uint8_t[]){ 0x0f, (uint8_t)op }, 2, reg, m, false);
}

void x86_sse_rr(struct x86_buf *b, enum x86_sse_pfx pfx, int w, enum x86_sse_op op, int reg, int rm)
{
	if (pfx)
		x86_u8(b, (uint8_t)pfx);
	op_rr(b, w, (const uint8_t[]){ 0x0f, (uint8_t)op }, 2, reg, rm, false);
}

void x86_fma231_rm(struct x86_buf *b, int dbl, uint8_t op, int dst, int src1, struct x86_mem m)
{
	/* three-byte VEX: C4, ~R ~X ~B mmmmm (00010: 0F38), W ~vvvv L pp (01: 66) */
	x86_u8(b, 0xc4);
	x86_u8(b, (uint8_t)((dst & 8 ? 0 : 0x80) | (m.index >= 0 && (m.index & 8) ? 0 : 0x40) |
			    (m.base & 8 ? 0 : 0x20) | 0x02));
	x86_u8(b, (uint8_t)((dbl ? 0x80 : 0) | (~src1 & 15) << 3 | 0x01));
	x86_u8(b, op);
	modrm_mem(b, dst, m);
}

void x86_store_imm32d(struct x86_buf *b, struct x86_mem m, int32_t imm)
{
	op_mem(b, 0, (const uint8_t[]){ 0xc7 }, 1, 0, m, false);
	x86_u32(b, (uint32_t)imm);
}

void x86_patch_rel32(uint8_t *site, const uint8_t *target)
{
	int32_t rel = (int32_t)(target - (site + 4));
	/* Only the hart thread runs and patches its code, and x86 keeps
	 * instruction fetch coherent with its own stores (SDM vol. 3, 11.6). */
	memcpy(site, &rel, 4);
}

uint8_t *x86_jmp32(struct x86_buf *b, const uint8_t *target)
{
	uint8_t *site;

	x86_u8(b, 0xe9);
	site = b->p;
	x86_u32(b, 0);
	if (!b->overflow && target)
		x86_patch_rel32(site, target);
	return site;
}

uint8_t *x86_jcc32(struct x86_buf *b, enum x86_cc cc, const uint8_t *target)
{
	uint8_t *site;

	x86_u8(b, 0x0f);
	x86_u8(b, (uint8_t)(0x80 | cc));
	site = b->p;
	x86_u32(b, 0);
	if (!b->overflow && target)
		x86_patch_rel32(site, target);
	return site;
}

void x86_call_abs(struct x86_buf *b, const void *fn)
{
	x86_mov_imm(b, RAX, (uint64_t)(uintptr_t)fn);
	x86_u8(b, 0xff);
	x86_u8(b, 0xd0);  /* call rax */
}

void x86_jmp_r(struct x86_buf *b, int reg)
{
	op_rr(b, 0, (const uint8_t[]){ 0xff }, 1, 4, reg, false);
}

void x86_push(struct x86_buf *b, int reg)
{
	rex(b, 0, 0, -1, reg, false);
	x86_u8(b, (uint8_t)(0x50 + (reg & 7)));
}

void x86_pop(struct x86_buf *b, int reg)
{
	rex(b, 0, 0, -1, reg, false);
	x86_u8(b, (uint8_t)(0x58 + (reg & 7)));
}

void x86_ret(struct x86_buf *b)
{
	x86_u8(b, 0xc3);
}
