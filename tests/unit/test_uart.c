/* NS16550A against its datasheet, through its register ops, on a VM with a
 * real "stdio" console whose stdin/stdout are pipes held by this test. */
#include <fcntl.h>
#include <libfdt.h>
#include <poll.h>
#include <pty.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <termios.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "unit_vm.h"
#include "host/console.h"
#include "host/loop.h"
#include "vm.h"

static FILE *out;  /* the real stdout: fd 1 is the console's pipe */
static int failures;

#define CHECK(name, cond)                                                   \
	do {                                                                \
		if (cond)                                                   \
			fprintf(out, "PASS uart-%s\n", name);               \
		else {                                                      \
			fprintf(out, "FAIL uart-%s: %s (line %d)\n", name, #cond, \
				__LINE__);                                  \
			failures++;                                         \
		}                                                           \
		fflush(out);                                                \
	} while (0)

static int irq_level = -1, irq_changes;
static unsigned irq_num;

static void fake_set_irq(void *ctx, unsigned irq, int level)
{
	(void)ctx;
	irq_num = irq;
	irq_level = level;
	irq_changes++;
}

static const struct mmio_region *uart;
static int in_w, out_r;  /* our ends of the console's stdin and stdout */

static uint8_t rd(unsigned reg)
{
	return (uint8_t)uart->ops->read(uart->opaque, reg, 1);
}

static void wr(unsigned reg, uint8_t v)
{
	uart->ops->write(uart->opaque, reg, v, 1);
}

/* Whatever the console has written to stdout so far (waits up to 1 s for
 * want bytes). */
static size_t drain(char *buf, size_t max, size_t want)
{
	size_t n = 0;

	while (n < max) {
		struct pollfd p = { .fd = out_r, .events = POLLIN };
		ssize_t r;
		if (poll(&p, 1, n >= want ? 0 : 1000) <= 0)
			break;
		r = read(out_r, buf + n, max - n);
		if (r <= 0)
			break;
		n += r;
	}
	return n;
}

static bool wait_lsr_dr(void)
{
	for (int i = 0; i < 1000; i++) {
		if (rd(5) & 0x01)
			return true;
		usleep(1000);
	}
	return false;
}

static bool wait_pending(struct console *c, size_t n)
{
	for (int i = 0; i < 1000 && console_pending(c) < n; i++)
		usleep(1000);
	return console_pending(c) >= n;
}

static bool read_exact(int fd, char *buf, size_t n)
{
	size_t got = 0;

	while (got < n) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		ssize_t r;
		if (poll(&p, 1, 1000) <= 0)
			return false;
		r = read(fd, buf + got, n - got);
		if (r <= 0)
			return false;
		got += r;
	}
	return true;
}

/* x86: COM1 at port 0x3f8, irq 4; no device-tree description. */
static void test_port_io(struct vm_config *cfg)
{
	struct vm vm = { .cfg = cfg, .set_irq = fake_set_irq };
	struct dev_params p = { .port = 0x3f8, .irq = 4 };
	const struct mmio_region *r;

	CHECK("port-create", vm_create_device(&vm, "ns16550a", &p) == 0);
	r = bus_find(&vm.pio, 0x3f8, 1);
	CHECK("port-window", r && r->base == 0x3f8 && r->size == 8 && vm.mmio.nr == 0 &&
				     vm.nr_desc == 0);
	if (r) {
		r->ops->write(r->opaque, 1, 0x02, 1);
		CHECK("port-irq4", irq_level == 1 && irq_num == 4);
		CHECK("port-lsr", r->ops->read(r->opaque, 5, 1) == 0x60);
	}
	CHECK("port-none", vm_create_device(&vm, "ns16550a", &(struct dev_params){ .irq = 4 }) ==
				   -EINVAL);
	unit_vm_free(&vm);
}

static uint64_t cpu_us(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (uint64_t)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000 +
	       ru.ru_utime.tv_usec + ru.ru_stime.tv_usec;
}

/* More input than the ring holds, then the writer hangs up, and nobody
 * reads for a while: the I/O thread must sleep (no hang-up busy loop), and
 * every byte must still arrive. */
static void test_console_full_hangup(struct vm_config *cfg)
{
	static char big[12000];
	struct vm vm = { .cfg = cfg };
	struct console *c;
	uint8_t b[512];
	size_t got = 0, n;
	uint64_t t0;
	int pin[2];

	if (pipe(pin))
		return;
	dup2(pin[0], 0);
	close(pin[0]);
	memset(big, 'q', sizeof(big));
	vm.loop = loop_create();
	loop_start(vm.loop);
	c = console_create(&vm, "stdio");
	if (write(pin[1], big, sizeof(big)) != (ssize_t)sizeof(big))
		return;
	close(pin[1]);
	usleep(50000);
	t0 = cpu_us();
	usleep(300000);
	CHECK("console-full-no-spin", cpu_us() - t0 < 100000);
	for (int i = 0; i < 2000 && got < sizeof(big); i++) {
		n = console_read(c, b, sizeof(b));
		got += n;
		if (!n)
			usleep(1000);
	}
	CHECK("console-full-all-bytes", got == sizeof(big));
	loop_stop(vm.loop);
	console_destroy(c);
	loop_destroy(vm.loop);
}

/* Stdin redirected from a regular file, which epoll refuses. */
static void test_console_file(struct vm_config *cfg)
{
	struct vm vm = { .cfg = cfg };
	char path[] = "/tmp/trevo-test-uart-XXXXXX";
	struct console *c;
	uint8_t b[16];
	size_t got = 0;
	int fd = mkstemp(path);

	if (fd < 0 || write(fd, "from-a-file", 11) != 11)
		return;
	lseek(fd, 0, SEEK_SET);
	dup2(fd, 0);
	close(fd);
	unlink(path);
	vm.loop = loop_create();
	loop_start(vm.loop);
	c = console_create(&vm, "stdio");
	for (int i = 0; i < 1000 && got < 11; i++) {
		got += console_read(c, b + got, sizeof(b) - got);
		usleep(1000);
	}
	CHECK("console-file-stdin", got == 11 && !memcmp(b, "from-a-file", 11));
	loop_stop(vm.loop);
	console_destroy(c);
	loop_destroy(vm.loop);
}

/* "stdio" on a terminal: raw while the console lives, restored after. */
static void test_console_tty(struct vm_config *cfg)
{
	struct vm vm = { .cfg = cfg };
	struct termios t;
	struct console *c;
	int mfd, sfd;
	uint8_t b[4];

	if (openpty(&mfd, &sfd, NULL, NULL, NULL)) {
		fprintf(out, "SKIP console-tty: no pty\n");
		return;
	}
	dup2(sfd, 0);
	vm.loop = loop_create();
	loop_start(vm.loop);
	c = console_create(&vm, "stdio");
	tcgetattr(0, &t);
	CHECK("console-tty-raw", c && !(t.c_lflag & (ICANON | ECHO | ISIG)) &&
					 !(t.c_iflag & (ICRNL | IXON)) && (t.c_oflag & OPOST));
	if (write(mfd, "\x03\r", 2) != 2)
		return;
	CHECK("console-tty-ctrl-c", wait_pending(c, 2) && console_read(c, b, 4) == 2 &&
					    b[0] == 3 && b[1] == '\r');
	loop_stop(vm.loop);
	console_destroy(c);
	loop_destroy(vm.loop);
	tcgetattr(0, &t);
	CHECK("console-tty-restored", (t.c_lflag & (ICANON | ECHO | ISIG)) == (ICANON | ECHO | ISIG));
	term_restore();
	close(mfd);
	close(sfd);
}

static int unix_connect(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		close(fd);
		return -1;
	}
	return fd;
}

static void test_console_unix(struct vm_config *cfg)
{
	struct vm vm = { .cfg = cfg };
	struct console *c;
	char path[64], spec[80], buf[8];
	uint8_t b[8];
	int fd, fd2;
	struct pollfd p;

	snprintf(path, sizeof(path), "/tmp/trevo-test-uart-%d.sock", (int)getpid());
	snprintf(spec, sizeof(spec), "unix:%s", path);
	vm.loop = loop_create();
	loop_start(vm.loop);
	c = console_create(&vm, spec);
	CHECK("console-unix-create", c != NULL);
	if (!c)
		return;
	fd = unix_connect(path);
	CHECK("console-unix-connect", fd >= 0 && write(fd, "abc", 3) == 3 && wait_pending(c, 3) &&
					      console_read(c, b, 8) == 3 && !memcmp(b, "abc", 3));
	console_write(c, (const uint8_t *)"out", 3);
	CHECK("console-unix-output", read_exact(fd, buf, 3) && !memcmp(buf, "out", 3));
	/* One client at a time: a second one is hung up on. */
	fd2 = unix_connect(path);
	p = (struct pollfd){ .fd = fd2, .events = POLLIN };
	CHECK("console-unix-second-refused",
	      fd2 >= 0 && poll(&p, 1, 1000) == 1 && read(fd2, buf, 1) == 0);
	close(fd2);
	/* The first leaves; the next one is served. */
	close(fd);
	usleep(50000);
	fd = unix_connect(path);
	CHECK("console-unix-reconnect", fd >= 0 && write(fd, "z", 1) == 1 && wait_pending(c, 1) &&
						console_read(c, b, 8) == 1 && b[0] == 'z');
	close(fd);
	loop_stop(vm.loop);
	console_destroy(c);
	loop_destroy(vm.loop);
	CHECK("console-unix-unlinked", access(path, F_OK) != 0);
}

static void test_console_pty(struct vm_config *cfg)
{
	struct vm vm = { .cfg = cfg };
	struct console *c;
	char line[128] = "", *name;
	int perr[2], saved_err = dup(2), fd;
	uint8_t b[8];
	ssize_t n;

	if (pipe(perr))
		return;
	vm.loop = loop_create();
	loop_start(vm.loop);
	dup2(perr[1], 2);
	c = console_create(&vm, "pty");
	dup2(saved_err, 2);
	n = read(perr[0], line, sizeof(line) - 1);
	line[n > 0 ? n : 0] = '\0';
	name = strstr(line, "/dev/");
	if (name)
		name[strcspn(name, "\n")] = '\0';
	CHECK("console-pty-create", c && name);
	if (!c || !name)
		return;
	fd = open(name, O_RDWR | O_NOCTTY);
	CHECK("console-pty-input", fd >= 0 && write(fd, "\x01q", 2) == 2 && wait_pending(c, 2) &&
					   console_read(c, b, 8) == 2 && b[0] == 1 && b[1] == 'q');
	console_write(c, (const uint8_t *)"pty", 3);
	CHECK("console-pty-output", read_exact(fd, (char *)b, 3) && !memcmp(b, "pty", 3));
	close(fd);
	loop_stop(vm.loop);
	console_destroy(c);
	loop_destroy(vm.loop);
}

int main(void)
{
	struct vm_config cfg = { 0 };
	struct vm vm = { .cfg = &cfg };
	struct dev_params p = { .base = 0x10000000, .irq = 10 };
	int saved_out = dup(1), pin[2], pout[2];
	char buf[64];
	size_t n;
	uint8_t v;
	bool ok;

	out = fdopen(saved_out, "w");
	if (!out || pipe(pin) || pipe(pout))
		return 1;
	dup2(pin[0], 0);
	dup2(pout[1], 1);
	in_w = pin[1];
	out_r = pout[0];
	fcntl(out_r, F_SETFL, O_NONBLOCK);

	vm.set_irq = fake_set_irq;
	vm.loop = loop_create();
	vm.console = console_create(&vm, "stdio");
	CHECK("console-create", vm.loop && vm.console);
	CHECK("console-bad-spec", console_create(&vm, "bogus") == NULL);
	loop_start(vm.loop);

	CHECK("create", vm_create_device(&vm, "ns16550a", &p) == 0);
	uart = bus_find(&vm.mmio, 0x10000000, 1);
	CHECK("mmio-window", uart && uart->size == 0x100);
	CHECK("describe", vm.nr_desc == 1 && !strcmp(vm.desc[0].node_name, "serial") &&
			      !strcmp(vm.desc[0].compatible, "ns16550a") && vm.desc[0].irq == 10 &&
			      vm.desc[0].fdt_extra);
	if (!uart)
		return 1;
	{
		static char fdt[4096];
		const fdt32_t *clk;
		int off;
		fdt_create(fdt, sizeof(fdt));
		fdt_finish_reservemap(fdt);
		fdt_begin_node(fdt, "");
		fdt_begin_node(fdt, "serial@10000000");
		vm.desc[0].fdt_extra(fdt, vm.desc[0].opaque);
		fdt_end_node(fdt);
		fdt_end_node(fdt);
		fdt_finish(fdt);
		off = fdt_path_offset(fdt, "/serial@10000000");
		clk = off >= 0 ? fdt_getprop(fdt, off, "clock-frequency", NULL) : NULL;
		CHECK("fdt-clock", clk && fdt32_to_cpu(*clk) == 3686400);
	}

	/* Reset state */
	CHECK("reset-iir", rd(2) == 0x01);
	CHECK("reset-lsr", rd(5) == 0x60);
	CHECK("reset-irq-low", irq_level != 1);

	/* Transmit */
	wr(0, 'h');
	wr(0, 'i');
	n = drain(buf, sizeof(buf), 2);
	CHECK("thr-output", n == 2 && !memcmp(buf, "hi", 2));

	/* Divisor latch */
	wr(3, 0x83);
	wr(0, 0x0c);
	wr(1, 0x00);
	CHECK("dlab-dll", rd(0) == 0x0c);
	CHECK("dlab-dlm", rd(1) == 0x00);
	wr(1, 0x12);
	CHECK("dlab-dlm-write", rd(1) == 0x12);
	wr(3, 0x03);
	CHECK("dlab-off-ier", rd(1) == 0x00);
	CHECK("lcr", rd(3) == 0x03);
	wr(0, 'x');
	n = drain(buf, sizeof(buf), 1);
	CHECK("dlab-off-thr", n == 1 && buf[0] == 'x');
	wr(7, 0x5a);
	CHECK("scratch", rd(7) == 0x5a);

	/* THR-empty interrupt: raised by enabling ETBEI with THR empty,
	 * cleared by reading IIR, raised again after a THR write. */
	wr(1, 0x02);
	CHECK("thre-on-enable", irq_level == 1 && irq_num == 10);
	CHECK("thre-iir", rd(2) == 0x02);
	CHECK("thre-cleared-by-iir", rd(2) == 0x01 && irq_level == 0);
	wr(0, '.');
	CHECK("thre-after-write", irq_level == 1);
	wr(1, 0x00);
	CHECK("ier-off-lowers", irq_level == 0);
	drain(buf, sizeof(buf), 1);

	/* FIFO, trigger level 14, loopback */
	wr(2, 0xc7);
	CHECK("fifo-iir-bits", (rd(2) & 0xc0) == 0xc0);
	wr(4, 0x10);
	wr(1, 0x05);  /* ERBFI | ELSI */
	CHECK("no-rx-no-irq", irq_level == 0 && rd(2) == 0xc1);
	wr(0, 0);
	CHECK("loop-dr", rd(5) & 0x01);
	CHECK("timeout-below-trigger", rd(2) == 0xcc && irq_level == 1);
	for (int i = 1; i < 13; i++)
		wr(0, (uint8_t)i);
	CHECK("below-trigger-13", rd(2) == 0xcc);
	wr(0, 13);
	CHECK("rda-at-trigger-14", rd(2) == 0xc4 && irq_level == 1);
	wr(0, 14);
	wr(0, 15);
	CHECK("fifo-16-no-oe", !(rd(5) & 0x02));
	wr(0, 99);
	CHECK("rls-over-rda", rd(2) == 0xc6);
	v = rd(5);
	CHECK("oe-on-17th", (v & 0x03) == 0x03);
	CHECK("oe-clears-on-read", !(rd(5) & 0x02) && rd(2) == 0xc4);
	ok = true;
	for (int i = 0; i < 16; i++)
		ok &= rd(0) == i;
	CHECK("fifo-order-16", ok);
	CHECK("fifo-empty", !(rd(5) & 0x01) && rd(2) == 0xc1 && irq_level == 0);
	n = drain(buf, sizeof(buf), 0);
	CHECK("loopback-not-on-console", n == 0);

	/* FIFO reset */
	wr(0, 1);
	wr(0, 2);
	wr(2, 0xc3);
	CHECK("fcr-rx-reset", !(rd(5) & 0x01));

	/* Priority: RDA above THRE, THRE above modem status */
	wr(1, 0x0f);
	wr(0, 7);     /* 1 byte < trigger: timeout id */
	CHECK("timeout-over-thre", rd(2) == 0xcc);
	rd(0);
	CHECK("thre-after-rx-drained", rd(2) == 0xc2);
	wr(4, 0x10 | 0x0f);  /* loopback: DTR RTS OUT1 OUT2 -> DSR CTS RI DCD */
	CHECK("msr-int", rd(2) == 0xc0 && irq_level == 1);
	v = rd(6);
	CHECK("msr-loopback", v == 0xfb);  /* lines high; DCTS DDSR DDCD */
	CHECK("msr-delta-clear", rd(6) == 0xf0 && rd(2) == 0xc1 && irq_level == 0);
	wr(4, 0x10);
	CHECK("msr-teri", rd(6) == 0x0f);
	wr(1, 0);

	/* 16450 mode: one-byte holding register, overrun overwrites it */
	wr(2, 0x00);
	CHECK("fifo-off-iir", (rd(2) & 0xc0) == 0);
	wr(1, 0x01);
	wr(0, 'a');
	CHECK("rda-16450", rd(2) == 0x04 && irq_level == 1);
	wr(0, 'b');
	v = rd(5);
	CHECK("oe-16450", (v & 0x03) == 0x03 && rd(0) == 'b');
	CHECK("rx-16450-empty", irq_level == 0);
	wr(4, 0x00);
	CHECK("msr-out-of-loopback", (rd(6) & 0xf0) == 0xb0);

	/* Input from the console, through the I/O thread */
	wr(2, 0x01);  /* FIFO, trigger 1 */
	if (write(in_w, "ok", 2) != 2)
		return 1;
	CHECK("console-input-dr", wait_lsr_dr());
	usleep(20000);
	CHECK("console-input-irq", irq_level == 1 && rd(2) == 0xc4);
	buf[0] = (char)rd(0);
	buf[1] = (char)rd(0);
	CHECK("console-input-bytes", buf[0] == 'o' && buf[1] == 'k' && irq_level == 0);

	/* Escapes: Ctrl-A Ctrl-A is one Ctrl-A, Ctrl-C passes, Ctrl-A X quits. */
	if (write(in_w, "\x01\x01\x03", 3) != 3)
		return 1;
	CHECK("escape-wait", wait_lsr_dr());
	usleep(20000);
	buf[0] = (char)rd(0);
	buf[1] = (char)rd(0);
	CHECK("escape-ctrl-a", buf[0] == 1 && buf[1] == 3 && !(rd(5) & 1));
	if (write(in_w, "\x01x", 2) != 2)
		return 1;
	for (int i = 0; i < 1000 && !vm_should_stop(&vm); i++)
		usleep(1000);
	CHECK("escape-quit", vm.exit_reason == VM_QUIT);

	/* Large input: none lost through the flow-controlled path. */
	{
		static char big[10000];
		size_t got = 0;
		bool same = true;
		for (size_t i = 0; i < sizeof(big); i++)
			big[i] = (char)('a' + i % 26);
		fcntl(in_w, F_SETFL, O_NONBLOCK);
		size_t sent = 0;
		for (int spins = 0; spins < 200000 && got < sizeof(big); spins++) {
			if (sent < sizeof(big)) {
				ssize_t w = write(in_w, big + sent, sizeof(big) - sent);
				if (w > 0)
					sent += w;
			}
			if (rd(5) & 1) {
				char ch = (char)rd(0);
				same &= ch == big[got];
				got++;
			} else {
				usleep(100);
			}
		}
		CHECK("console-input-10000", got == sizeof(big) && same);
	}

	loop_stop(vm.loop);
	unit_vm_free(&vm);
	console_destroy(vm.console);
	loop_destroy(vm.loop);
	test_port_io(&cfg);
	test_console_full_hangup(&cfg);
	test_console_file(&cfg);
	test_console_tty(&cfg);
	test_console_unix(&cfg);
	test_console_pty(&cfg);
	return failures ? 1 : 0;
}
