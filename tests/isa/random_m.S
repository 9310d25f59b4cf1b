/* Robustness: 32 KiB of random bytes run in M-mode at their physical
 * address. The generator removed every SYSTEM opcode at even offsets, so the
 * code cannot change CSRs, but it may store anywhere, including into this
 * program or a device (a poweroff with any status is possible): the run
 * passes if trevo ends cleanly (any exit status, or the timeout), never with
 * a signal or a sanitizer report (see run.sh). */
#include "isa.h"

#define RAND_BIN "random-m.bin"
#define RAND_VA 0x80100000
#define RAND_MODE 3
#define SETUP la t0, rand_code; li t1, RAND_VA; beq t0, t1, 1f; j fail; 1:
#include "random.h"
