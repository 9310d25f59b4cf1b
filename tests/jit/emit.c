/* The x86-64 emitter (src/riscv/jit/emit.c) against a disassembler: each
 * case emits one instruction, and objdump must read back the expected
 * Intel-syntax text. Covers the REX bits (r8-r15 as register, base and
 * index), SIB for rsp/r12 bases, the disp0/disp8/disp32 forms, rbp/r13 bases
 * that need a displacement, byte registers that need a REX, and the
 * immediate forms. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "riscv/jit/emit.h"

#define CASES(E) \
	E("mov rax,QWORD PTR [rbx+0x28]", x86_load(b, 1, RAX, x86_m(RBX, 0x28))) \
	E("mov r12,QWORD PTR [rbx+0x108]", x86_load(b, 1, R12, x86_m(RBX, 0x108))) \
	E("mov eax,DWORD PTR [rax]", x86_load(b, 0, RAX, x86_m(RAX, 0))) \
	E("mov rcx,QWORD PTR [r12]", x86_load(b, 1, RCX, x86_m(R12, 0))) \
	E("mov rcx,QWORD PTR [r13+0x0]", x86_load(b, 1, RCX, x86_m(R13, 0))) \
	E("mov r9,QWORD PTR [rbp-0x8]", x86_load(b, 1, R9, x86_m(RBP, -8))) \
	E("mov rdx,QWORD PTR [rsp+0x10]", x86_load(b, 1, RDX, x86_m(RSP, 0x10))) \
	E("mov QWORD PTR [rbx+0x48],rax", x86_store(b, 8, x86_m(RBX, 0x48), RAX)) \
	E("mov DWORD PTR [rax],ecx", x86_store(b, 4, x86_m(RAX, 0), RCX)) \
	E("mov WORD PTR [rax],cx", x86_store(b, 2, x86_m(RAX, 0), RCX)) \
	E("mov BYTE PTR [rax],cl", x86_store(b, 1, x86_m(RAX, 0), RCX)) \
	E("mov BYTE PTR [rax],sil", x86_store(b, 1, x86_m(RAX, 0), RSI)) \
	E("mov BYTE PTR [r8],r15b", x86_store(b, 1, x86_m(R8, 0), R15)) \
	E("mov QWORD PTR [rbx+0x1000],0xfffffffffffff800", x86_store_imm32(b, x86_m(RBX, 0x1000), -2048)) \
	E("mov rax,rbx", x86_mov_rr(b, 1, RAX, RBX)) \
	E("mov edx,ecx", x86_mov_rr(b, 0, RDX, RCX)) \
	E("mov r10,r11", x86_mov_rr(b, 1, R10, R11)) \
	E("xor eax,eax", x86_mov_imm(b, RAX, 0)) \
	E("mov ecx,0x12345678", x86_mov_imm(b, RCX, 0x12345678)) \
	E("mov r8d,0x1", x86_mov_imm(b, R8, 1)) \
	E("mov rdx,0xffffffffffffffff", x86_mov_imm(b, RDX, ~0ULL)) \
	E("movabs rsi,0x123456789abc", x86_mov_imm(b, RSI, 0x123456789abcULL)) \
	E("movsx rax,BYTE PTR [rax]", x86_movsx(b, 1, RAX, x86_m(RAX, 0))) \
	E("movsx rax,WORD PTR [rax]", x86_movsx(b, 2, RAX, x86_m(RAX, 0))) \
	E("movsxd rax,DWORD PTR [rax]", x86_movsx(b, 4, RAX, x86_m(RAX, 0))) \
	E("movzx eax,BYTE PTR [rax]", x86_movzx(b, 1, RAX, x86_m(RAX, 0))) \
	E("movzx eax,WORD PTR [rax]", x86_movzx(b, 2, RAX, x86_m(RAX, 0))) \
	E("movsxd rax,eax", x86_movsxd_rr(b, RAX, RAX)) \
	E("movzx ecx,dl", x86_movzx8_rr(b, RCX, RDX)) \
	E("movzx r9d,sil", x86_movzx8_rr(b, R9, RSI)) \
	E("movzx eax,r10b", x86_movzx8_rr(b, RAX, R10)) \
	E("lea rcx,[rcx+rcx*2]", x86_lea(b, RCX, (struct x86_mem){ RCX, RCX, 2, 0 })) \
	E("cmp rdx,QWORD PTR [rbx+rcx*8+0x128]", x86_alu_rm(b, 1, ALU_CMP, RDX, (struct x86_mem){ RBX, RCX, 8, 0x128 })) \
	E("lea rax,[r12+0x7fffffff]", x86_lea(b, RAX, x86_m(R12, 0x7fffffff))) \
	E("lea r12,[r12-0x4]", x86_lea(b, R12, x86_m(R12, -4))) \
	E("add rax,QWORD PTR [rbx+rdx*1+0x130]", x86_alu_rm(b, 1, ALU_ADD, RAX, x86_mi(RBX, RDX, 0x130))) \
	E("cmp rcx,QWORD PTR [rbx+r9*1+0x128]", x86_alu_rm(b, 1, ALU_CMP, RCX, x86_mi(RBX, R9, 0x128))) \
	E("sub eax,DWORD PTR [rbx+0x10]", x86_alu_rm(b, 0, ALU_SUB, RAX, x86_m(RBX, 0x10))) \
	E("xor ecx,ecx", x86_alu_rr(b, 0, ALU_XOR, RCX, RCX)) \
	E("and r14,r15", x86_alu_rr(b, 1, ALU_AND, R14, R15)) \
	E("or rax,0x7f", x86_alu_ri(b, 1, ALU_OR, RAX, 127)) \
	E("add rax,0xfffffffffffff800", x86_alu_ri(b, 1, ALU_ADD, RAX, -2048)) \
	E("and edx,0xff", x86_alu_ri(b, 0, ALU_AND, RDX, 255)) \
	E("sub rsp,0x8", x86_alu_ri(b, 1, ALU_SUB, RSP, 8)) \
	E("cmp QWORD PTR [rbx+0x118],0x0", x86_alu_mi(b, 1, ALU_CMP, x86_m(RBX, 0x118), 0)) \
	E("add QWORD PTR [rbx+0x120],0x40", x86_alu_mi(b, 1, ALU_ADD, x86_m(RBX, 0x120), 64)) \
	E("cmp DWORD PTR [rax],0x0", x86_alu_mi(b, 0, ALU_CMP, x86_m(RAX, 0), 0)) \
	E("sub QWORD PTR [rbx+0x118],0x1000", x86_alu_mi(b, 1, ALU_SUB, x86_m(RBX, 0x118), 4096)) \
	E("test al,0x7", x86_test_ri(b, 0, RAX, 7)) \
	E("test rdx,rdx", x86_test_rr(b, 1, RDX, RDX)) \
	E("test r9d,eax", x86_test_rr(b, 0, R9, RAX)) \
	E("jmp rdx", x86_jmp_r(b, RDX)) \
	E("jmp r11", x86_jmp_r(b, R11)) \
	E("shr rcx,0xc", x86_shift_ri(b, 1, SH_SHR, RCX, 12)) \
	E("sar eax,0x1f", x86_shift_ri(b, 0, SH_SAR, RAX, 31)) \
	E("shl rax,cl", x86_shift_rcl(b, 1, SH_SHL, RAX)) \
	E("shr eax,cl", x86_shift_rcl(b, 0, SH_SHR, RAX)) \
	E("imul rax,QWORD PTR [rbx+0x10]", x86_imul_rm(b, 1, RAX, x86_m(RBX, 0x10))) \
	E("imul edx,edx,0x18", x86_imul_rri(b, 0, RDX, RDX, 24)) \
	E("imul rax,r13", x86_imul_rr(b, 1, RAX, R13)) \
	E("imul eax,ebp", x86_imul_rr(b, 0, RAX, RBP)) \
	E("mul r9", x86_mul_r(b, false, R9)) \
	E("imul rsi", x86_mul_r(b, true, RSI)) \
	E("imul QWORD PTR [rbx+0x10]", x86_mul_m(b, true, x86_m(RBX, 0x10))) \
	E("mul QWORD PTR [rbx+0x10]", x86_mul_m(b, false, x86_m(RBX, 0x10))) \
	E("setl cl", x86_setcc(b, CC_L, RCX)) \
	E("setb sil", x86_setcc(b, CC_B, RSI)) \
	E("push r12", x86_push(b, R12)) \
	E("pop rbx", x86_pop(b, RBX)) \
	E("ret", x86_ret(b)) \
	E("mov eax,0x1234; call rax", x86_call_abs(b, (void *)0x1234)) \
	E("jmp 0x0", x86_jmp32(b, b->p)) \
	E("movsd xmm0,QWORD PTR [rbx+0x230]", x86_sse_rm(b, SSE_SD, 0, SSE_MOV_LOAD, 0, x86_m(RBX, 0x230))) \
	E("movss xmm1,DWORD PTR [rbx+0x8]", x86_sse_rm(b, SSE_SS, 0, SSE_MOV_LOAD, 1, x86_m(RBX, 8))) \
	E("movsd QWORD PTR [r12+0x10],xmm9", x86_sse_rm(b, SSE_SD, 0, SSE_MOV_STORE, 9, x86_m(R12, 0x10))) \
	E("movss DWORD PTR [rbx+0x238],xmm0", x86_sse_rm(b, SSE_SS, 0, SSE_MOV_STORE, 0, x86_m(RBX, 0x238))) \
	E("addsd xmm0,QWORD PTR [rbx+0x238]", x86_sse_rm(b, SSE_SD, 0, SSE_ADD, 0, x86_m(RBX, 0x238))) \
	E("addss xmm0,DWORD PTR [rbx+0x238]", x86_sse_rm(b, SSE_SS, 0, SSE_ADD, 0, x86_m(RBX, 0x238))) \
	E("subsd xmm2,QWORD PTR [rbx+0x8]", x86_sse_rm(b, SSE_SD, 0, SSE_SUB, 2, x86_m(RBX, 8))) \
	E("subss xmm0,DWORD PTR [rbx+0x8]", x86_sse_rm(b, SSE_SS, 0, SSE_SUB, 0, x86_m(RBX, 8))) \
	E("mulsd xmm0,QWORD PTR [rbx+0x8]", x86_sse_rm(b, SSE_SD, 0, SSE_MUL, 0, x86_m(RBX, 8))) \
	E("mulss xmm0,DWORD PTR [rbx+0x8]", x86_sse_rm(b, SSE_SS, 0, SSE_MUL, 0, x86_m(RBX, 8))) \
	E("divsd xmm0,QWORD PTR [rbx+0x8]", x86_sse_rm(b, SSE_SD, 0, SSE_DIV, 0, x86_m(RBX, 8))) \
	E("divss xmm0,DWORD PTR [rbx+0x8]", x86_sse_rm(b, SSE_SS, 0, SSE_DIV, 0, x86_m(RBX, 8))) \
	E("sqrtsd xmm0,QWORD PTR [rbx+0x8]", x86_sse_rm(b, SSE_SD, 0, SSE_SQRT, 0, x86_m(RBX, 8))) \
	E("sqrtss xmm0,DWORD PTR [rbx+0x8]", x86_sse_rm(b, SSE_SS, 0, SSE_SQRT, 0, x86_m(RBX, 8))) \
	E("minsd xmm0,xmm1", x86_sse_rr(b, SSE_SD, 0, SSE_MIN, 0, 1)) \
	E("maxsd xmm0,xmm1", x86_sse_rr(b, SSE_SD, 0, SSE_MAX, 0, 1)) \
	E("minss xmm0,xmm1", x86_sse_rr(b, SSE_SS, 0, SSE_MIN, 0, 1)) \
	E("maxss xmm0,xmm1", x86_sse_rr(b, SSE_SS, 0, SSE_MAX, 0, 1)) \
	E("orpd xmm0,xmm1", x86_sse_rr(b, SSE_PD, 0, SSE_OR, 0, 1)) \
	E("andpd xmm0,xmm1", x86_sse_rr(b, SSE_PD, 0, SSE_AND, 0, 1)) \
	E("orps xmm0,xmm1", x86_sse_rr(b, SSE_PS, 0, SSE_OR, 0, 1)) \
	E("andps xmm0,xmm1", x86_sse_rr(b, SSE_PS, 0, SSE_AND, 0, 1)) \
	E("ucomisd xmm0,xmm0", x86_sse_rr(b, SSE_PD, 0, SSE_UCOMI, 0, 0)) \
	E("ucomiss xmm0,xmm0", x86_sse_rr(b, SSE_PS, 0, SSE_UCOMI, 0, 0)) \
	E("ucomisd xmm0,QWORD PTR [rbx+0x8]", x86_sse_rm(b, SSE_PD, 0, SSE_UCOMI, 0, x86_m(RBX, 8))) \
	E("comisd xmm0,QWORD PTR [rbx+0x8]", x86_sse_rm(b, SSE_PD, 0, SSE_COMI, 0, x86_m(RBX, 8))) \
	E("comiss xmm0,DWORD PTR [rbx+0x8]", x86_sse_rm(b, SSE_PS, 0, SSE_COMI, 0, x86_m(RBX, 8))) \
	E("cvtsi2sd xmm0,rax", x86_sse_rr(b, SSE_SD, 1, SSE_CVTSI, 0, RAX)) \
	E("cvtsi2sd xmm0,eax", x86_sse_rr(b, SSE_SD, 0, SSE_CVTSI, 0, RAX)) \
	E("cvtsi2ss xmm0,r9", x86_sse_rr(b, SSE_SS, 1, SSE_CVTSI, 0, R9)) \
	E("cvtsi2ss xmm0,eax", x86_sse_rr(b, SSE_SS, 0, SSE_CVTSI, 0, RAX)) \
	E("cvttsd2si rax,QWORD PTR [rbx+0x8]", x86_sse_rm(b, SSE_SD, 1, SSE_CVTT, RAX, x86_m(RBX, 8))) \
	E("cvttsd2si eax,QWORD PTR [rbx+0x8]", x86_sse_rm(b, SSE_SD, 0, SSE_CVTT, RAX, x86_m(RBX, 8))) \
	E("cvtsd2si rax,QWORD PTR [rbx+0x8]", x86_sse_rm(b, SSE_SD, 1, SSE_CVT, RAX, x86_m(RBX, 8))) \
	E("cvtsd2si eax,QWORD PTR [rbx+0x8]", x86_sse_rm(b, SSE_SD, 0, SSE_CVT, RAX, x86_m(RBX, 8))) \
	E("cvttss2si rax,DWORD PTR [rbx+0x8]", x86_sse_rm(b, SSE_SS, 1, SSE_CVTT, RAX, x86_m(RBX, 8))) \
	E("cvtss2si eax,DWORD PTR [rbx+0x8]", x86_sse_rm(b, SSE_SS, 0, SSE_CVT, RAX, x86_m(RBX, 8))) \
	E("cvtsd2ss xmm0,QWORD PTR [rbx+0x8]", x86_sse_rm(b, SSE_SD, 0, SSE_CVT_FP, 0, x86_m(RBX, 8))) \
	E("cvtss2sd xmm0,DWORD PTR [rbx+0x8]", x86_sse_rm(b, SSE_SS, 0, SSE_CVT_FP, 0, x86_m(RBX, 8))) \
	E("movq xmm0,rax", x86_sse_rr(b, SSE_PD, 1, SSE_MOVD_TO, 0, RAX)) \
	E("movq rcx,xmm0", x86_sse_rr(b, SSE_PD, 1, SSE_MOVD_FROM, 0, RCX)) \
	E("ldmxcsr DWORD PTR [rsp-0x8]", x86_sse_rm(b, SSE_PS, 0, SSE_MXCSR, 2, x86_m(RSP, -8))) \
	E("stmxcsr DWORD PTR [rsp-0x8]", x86_sse_rm(b, SSE_PS, 0, SSE_MXCSR, 3, x86_m(RSP, -8))) \
	E("vfmadd231sd xmm0,xmm1,QWORD PTR [rbx+0x238]", x86_fma231_rm(b, 1, 0xb9, 0, 1, x86_m(RBX, 0x238))) \
	E("vfmsub231sd xmm0,xmm1,QWORD PTR [rbx+0x8]", x86_fma231_rm(b, 1, 0xbb, 0, 1, x86_m(RBX, 8))) \
	E("vfnmadd231sd xmm10,xmm1,QWORD PTR [r9+0x8]", x86_fma231_rm(b, 1, 0xbd, 10, 1, x86_m(R9, 8))) \
	E("vfnmsub231sd xmm0,xmm12,QWORD PTR [rbx+r10*1+0x8]", x86_fma231_rm(b, 1, 0xbf, 0, 12, x86_mi(RBX, R10, 8))) \
	E("vfmadd231ss xmm0,xmm1,DWORD PTR [rbx+0x8]", x86_fma231_rm(b, 0, 0xb9, 0, 1, x86_m(RBX, 8))) \
	E("vfnmsub231ss xmm0,xmm1,DWORD PTR [rbx+0x8]", x86_fma231_rm(b, 0, 0xbf, 0, 1, x86_m(RBX, 8))) \
	E("mov DWORD PTR [rbx+0x23c],0xffffffff", x86_store_imm32d(b, x86_m(RBX, 0x23c), -1)) \
	E("jo 0x0", x86_jcc32(b, CC_O, b->p)) \
	E("jne 0x0", x86_jcc32(b, CC_NE, b->p)) \


int main(void)
{
	char bin[] = "/tmp/trevo-emit-XXXXXX";
	int fd = mkstemp(bin), failures = 0;
	char cmd[256], line[512];
	static const char *const wants[] = {
#define WANT(w, code) w,
		CASES(WANT)
#undef WANT
	};
	unsigned n = sizeof(wants) / sizeof(wants[0]), got = 0;
	static char texts[sizeof(wants) / sizeof(wants[0])][256];
	FILE *p;

	if (fd < 0) {
		printf("FAIL jit-emit: mkstemp\n");
		return 1;
	}
	if (system("command -v objdump > /dev/null 2>&1")) {
		printf("SKIP jit-emit: no objdump (binutils)\n");
		close(fd);
		unlink(bin);
		return 0;
	}
	/* each case at its own 32-byte slot, padded with int3 */
	uint8_t *code = malloc(32 * n);
	memset(code, 0xcc, 32 * n);
	{
		unsigned i = 0;
#define EMIT(w, code)                                                          \
		do {                                                           \
			struct x86_buf bb = { code_ + 32 * i, code_ + 32 * i + 32, false }; \
			struct x86_buf *b = &bb;                               \
			code;                                                  \
			if (bb.overflow) {                                     \
				printf("FAIL jit-emit: case %u overflowed\n", i); \
				failures++;                                    \
			}                                                      \
			i++;                                                   \
		} while (0);
		uint8_t *code_ = code;
		CASES(EMIT)
#undef EMIT
	}
	if (write(fd, code, 32 * n) != (ssize_t)(32 * n)) {
		printf("FAIL jit-emit: write\n");
		return 1;
	}
	close(fd);
	snprintf(cmd, sizeof(cmd), "objdump -D -b binary -m i386:x86-64 -M intel %s 2>&1", bin);
	p = popen(cmd, "r");
	if (!p) {
		printf("SKIP jit-emit: no objdump\n");
		return 0;
	}
	while (fgets(line, sizeof(line), p)) {
		unsigned long off;
		char *t1, *t2, text[256];
		int k = 0;
		if (sscanf(line, " %lx:", &off) != 1 || !(t1 = strchr(line, '\t')) ||
		    !(t2 = strchr(t1 + 1, '\t')))
			continue;
		/* squeeze the blanks objdump aligns with */
		for (char *s = t2 + 1; *s && *s != '\n' && k < (int)sizeof(text) - 1; s++)
			if (!(*s == ' ' && (k == 0 || text[k - 1] == ' ')))
				text[k++] = *s;
		text[k] = 0;
		if (k && text[k - 1] == ' ')
			text[--k] = 0;
		unsigned i = (unsigned)(off / 32);
		if (i >= n || !strcmp(text, "int3"))
			continue;
		/* the instructions of one slot, joined by "; " */
		size_t used = strlen(texts[i]);
		snprintf(texts[i] + used, sizeof(texts[i]) - used, "%s%s", used ? "; " : "", text);
	}
	pclose(p);
	for (unsigned i = 0; i < n; i++) {
		char want[128];
		got += texts[i][0] != 0;
		snprintf(want, sizeof(want), "%s", wants[i]);
		/* a jump to itself: objdump prints the absolute target */
		if (!strcmp(want, "jmp 0x0") || !strcmp(want, "jne 0x0") || !strcmp(want, "jo 0x0"))
			snprintf(want, sizeof(want), "%.*s 0x%x", (int)(strchr(wants[i], ' ') - wants[i]),
				 wants[i], 32 * i);
		if (strcmp(texts[i], want)) {
			printf("FAIL jit-emit: case %u: objdump reads \"%s\", expected \"%s\"\n", i,
			       texts[i], want);
			failures++;
		}
	}
	unlink(bin);
	free(code);
	if (got != n) {
		printf("FAIL jit-emit: objdump read %u of %u cases\n", got, n);
		return 1;
	}
	if (!failures)
		printf("PASS jit-emit: %u encodings read back by objdump\n", n);
	return failures ? 1 : 0;
}
