/* The host side of the guest console: the user's terminal in raw mode (or a
 * pty, or a unix socket). Guest devices (NS16550A, virtio-console) write
 * output here and pull input from here; exactly one device is the active
 * receiver at a time.
 *
 * Terminal contract (PRODUCT.md): raw mode while the guest runs, restored on
 * every exit path (term_restore() is also called by die()); Ctrl-A X quits
 * (vm_request_exit(VM_QUIT)); Ctrl-A Ctrl-A sends one Ctrl-A; Ctrl-C reaches
 * the guest. */
#ifndef TREVO_CONSOLE_H
#define TREVO_CONSOLE_H

#include "../common.h"

struct vm;
struct console;

/* spec: "stdio" (default when NULL), "pty", "unix:PATH". Registers its fds
 * with vm->loop. Prints one line and returns NULL on a bad spec. */
struct console *console_create(struct vm *vm, const char *spec);
void console_destroy(struct console *c);

/* Guest output. Never blocks the vCPU for long: drops data when the reader
 * is gone (as a serial line would). */
void console_write(struct console *c, const uint8_t *buf, size_t len);

/* Input: the device calls console_read when it has room; rx_ready is called
 * (from the I/O thread) whenever new input arrives. */
void console_set_receiver(struct console *c, void (*rx_ready)(void *opaque), void *opaque);
size_t console_read(struct console *c, uint8_t *buf, size_t max);
/* A device going away: stop calling rx_ready if opaque is the receiver
 * (another device may have taken over). Call with the event loop stopped,
 * or rx_ready may be running. */
void console_clear_receiver(struct console *c, void *opaque);
size_t console_pending(struct console *c);

/* Put the terminal back as it was (safe to call more than once, any time). */
void term_restore(void);

#endif
