/* The host side src/vm.c links against, which the register-level fuzz
 * target never reaches (it does not run a VM). */
#include "host/console.h"
#include "host/loop.h"
#include "host/qmp.h"
#include "vm.h"

void term_restore(void) {}
int loop_start(struct event_loop *l) { (void)l; return -ENOSYS; }
void loop_stop(struct event_loop *l) { (void)l; }
void console_destroy(struct console *c) { (void)c; }
int qmp_start(struct vm *vm, const char *spec) { (void)vm; (void)spec; return -ENOSYS; }
void qmp_stop(struct vm *vm) { (void)vm; }

/* Device threads (AHCI, e1000) confine themselves; the fuzz targets run
 * no sandbox. */
#include "host/seccomp.h"
void seccomp_enter(enum seccomp_thread kind) { (void)kind; }
