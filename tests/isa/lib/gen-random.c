/* Random bytes for the ISA robustness tests, from a fixed seed so that every
 * build makes the same file. Usage: gen-random SEED BYTES u|m > file
 * In mode m (code run in M-mode) every byte at an even offset whose low seven
 * bits are 0x73 (the SYSTEM major opcode) is changed, so that no 16-bit
 * aligned decode of the stream is a CSR access, mret, wfi or ecall: random
 * M-mode code that rewrote mtvec or mstatus could not be recovered from. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv)
{
	if (argc != 4)
		return 2;
	uint64_t s = strtoull(argv[1], NULL, 0) | 1;
	long n = strtol(argv[2], NULL, 0);
	int m_mode = argv[3][0] == 'm';
	for (long i = 0; i < n; i++) {
		/* xorshift64* */
		s ^= s >> 12;
		s ^= s << 25;
		s ^= s >> 27;
		uint8_t b = (uint8_t)((s * 0x2545f4914f6cdd1dULL) >> 56);
		if (m_mode && !(i & 1) && (b & 0x7f) == 0x73)
			b ^= 0x10;
		putchar(b);
	}
	return 0;
}
