/* Trevo's guest init (PID 1 of the default guests' initramfs).
 *
 * It mounts /proc, /sys and /dev, runs /etc/rc if the image has one (the x86
 * guest loads its virtio modules there), prints the boot marker
 *
 *     TREVO-BOOT-OK uptime=<seconds since the kernel started>
 *
 * and then either runs the command given on the kernel command line as
 * trevo.run=CMD (via /bin/sh -c), prints "TREVO-RUN-EXIT <status>" and powers
 * off, or starts an interactive shell on the console and powers off when it
 * exits. The tests and benchmarks look for these two lines.
 *
 * Spaces in CMD: the kernel's own quoting works (trevo.run="ls -l /"), and
 * %XX escapes are decoded (trevo.run=ls%20-l%20/; a literal % is %25).
 *
 * init=PATH on the command line replaces this program by PATH (as it would
 * without an initramfs); if PATH cannot run, init exits and the kernel
 * panics, which the boot tests use to check that a panic ends the VM.
 *
 * BusyBox's poweroff, reboot and halt signal PID 1 (SIGUSR2, SIGTERM,
 * SIGUSR1), so this init honours those signals the way BusyBox init does.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static char *const shell_env[] = {
	"PATH=/bin:/sbin:/usr/bin:/usr/sbin",
	"HOME=/root",
	"TERM=vt100",
	"PS1=trevo:\\w# ",
	NULL,
};

static volatile sig_atomic_t pending_action;	/* RB_* to do, or 0 */

static void on_signal(int sig)
{
	if (sig == SIGUSR2)
		pending_action = RB_POWER_OFF;
	else if (sig == SIGTERM)
		pending_action = RB_AUTOBOOT;
	else if (sig == SIGUSR1)
		pending_action = RB_HALT_SYSTEM;
}

static void say(const char *fmt, const char *arg)
{
	fprintf(stderr, "trevo-init: ");
	fprintf(stderr, fmt, arg);
	fputc('\n', stderr);
}

static void mount_fs(const char *src, const char *dir, const char *type)
{
	mkdir(dir, 0755);
	if (mount(src, dir, type, MS_NOSUID, NULL) && errno != EBUSY)
		say("cannot mount %s", dir);
}

/* The whole kernel command line, or "" if /proc is not there. */
static char *read_cmdline(void)
{
	static char buf[4096];
	int fd = open("/proc/cmdline", O_RDONLY);
	ssize_t n = 0;

	if (fd >= 0) {
		n = read(fd, buf, sizeof(buf) - 1);
		close(fd);
	}
	buf[n > 0 ? n : 0] = '\0';
	return buf;
}

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* The value of "key=" on the command line (malloc'd, quotes removed and %XX
 * decoded), or NULL. The kernel splits arguments at spaces outside double
 * quotes; we follow the same rule. */
static char *cmdline_value(const char *cmdline, const char *key)
{
	size_t klen = strlen(key);
	const char *p = cmdline;

	while (*p) {
		const char *start;
		int quoted = 0;

		while (*p == ' ' || *p == '\n' || *p == '\t')
			p++;
		start = p;
		while (*p && (quoted || (*p != ' ' && *p != '\n' && *p != '\t'))) {
			if (*p == '"')
				quoted = !quoted;
			p++;
		}
		if ((size_t)(p - start) > klen && !strncmp(start, key, klen) && start[klen] == '=') {
			const char *v = start + klen + 1;
			char *out = malloc(p - v + 1), *o = out;

			if (!out)
				return NULL;
			while (v < p) {
				if (*v == '"') {
					v++;
				} else if (*v == '%' && p - v >= 3 && hexval(v[1]) >= 0 &&
					   hexval(v[2]) >= 0) {
					*o++ = (char)(hexval(v[1]) * 16 + hexval(v[2]));
					v += 3;
				} else {
					*o++ = *v++;
				}
			}
			*o = '\0';
			return out;
		}
	}
	return NULL;
}

static void print_boot_marker(void)
{
	char up[64] = "?";
	int fd = open("/proc/uptime", O_RDONLY);

	if (fd >= 0) {
		ssize_t n = read(fd, up, sizeof(up) - 1);

		up[n > 0 ? n : 0] = '\0';
		up[strcspn(up, " \n")] = '\0';
		close(fd);
	}
	printf("TREVO-BOOT-OK uptime=%s\n", up);
	fflush(stdout);
}

/* The tty behind /dev/console ("ttyS0", "hvc0"...): /dev/console itself can
 * never be a controlling terminal, so job control and Ctrl-C need the real
 * device. The last name in the list is the one /dev/console refers to. */
static int open_console_tty(void)
{
	char buf[256], path[300], *name;
	int fd = open("/sys/class/tty/console/active", O_RDONLY);
	ssize_t n = 0;

	if (fd >= 0) {
		n = read(fd, buf, sizeof(buf) - 1);
		close(fd);
	}
	buf[n > 0 ? n : 0] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	name = strrchr(buf, ' ');
	name = name ? name + 1 : buf;
	if (*name) {
		snprintf(path, sizeof(path), "/dev/%s", name);
		fd = open(path, O_RDWR);
		if (fd >= 0)
			return fd;
	}
	return open("/dev/console", O_RDWR);
}

static pid_t spawn(char *const argv[], int interactive)
{
	pid_t pid = fork();

	if (pid)
		return pid;
	{
		sigset_t none;

		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
	}
	signal(SIGUSR1, SIG_DFL);
	signal(SIGUSR2, SIG_DFL);
	signal(SIGTERM, SIG_DFL);
	signal(SIGINT, SIG_DFL);
	setsid();
	if (interactive) {
		int fd = open_console_tty();

		if (fd >= 0) {
			ioctl(fd, TIOCSCTTY, 1);
			dup2(fd, 0);
			dup2(fd, 1);
			dup2(fd, 2);
			if (fd > 2)
				close(fd);
		}
	}
	if (chdir("/root"))
		(void)0;	/* stay in / */
	execve(argv[0], argv, shell_env);
	say("cannot run %s", argv[0]);
	_exit(127);
}

static void shutdown_system(int how)
{
	int i;

	signal(SIGTERM, SIG_IGN);
	/* Every process left is our descendant (orphans come to PID 1), so
	 * ECHILD means they are all gone: wait for that, at most a second. */
	kill(-1, SIGTERM);
	for (i = 0; i < 100 && !(waitpid(-1, NULL, WNOHANG) < 0 && errno == ECHILD); i++)
		usleep(10000);
	kill(-1, SIGKILL);
	sync();
	reboot(how);
	/* Only if the board has no way to power off. */
	for (;;)
		pause();
}

int main(int argc, char **argv)
{
	struct sigaction sa;
	sigset_t block, old;
	char *cmdline, *init, *run;
	pid_t main_pid;
	int action = RB_POWER_OFF;

	(void)argc;
	mount_fs("proc", "/proc", "proc");
	cmdline = read_cmdline();
	init = cmdline_value(cmdline, "init");
	if (init && strcmp(init, "/init")) {
		char *args[] = { init, NULL };

		execve(init, args, shell_env);
		say("cannot run init=%s", init);
		return 1;	/* PID 1 exits: the kernel panics */
	}
	mount_fs("sysfs", "/sys", "sysfs");
	mount_fs("devtmpfs", "/dev", "devtmpfs");
	mkdir("/dev/pts", 0755);
	mount("devpts", "/dev/pts", "devpts", MS_NOSUID | MS_NOEXEC, NULL);
	mount_fs("tmpfs", "/tmp", "tmpfs");
	mount_fs("tmpfs", "/run", "tmpfs");
	setenv("PATH", "/bin:/sbin:/usr/bin:/usr/sbin", 1);

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGUSR1, &sa, NULL);
	sigaction(SIGUSR2, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGINT, SIG_IGN);	/* Ctrl-Alt-Del */

	if (access("/etc/rc", X_OK) == 0) {
		char *rc[] = { "/bin/sh", "/etc/rc", NULL };
		pid_t pid = spawn(rc, 0);
		int st;

		while (pid > 0 && waitpid(pid, &st, 0) < 0 && errno == EINTR)
			;
	}
	print_boot_marker();

	run = cmdline_value(cmdline, "trevo.run");
	if (run) {
		char *args[] = { "/bin/sh", "-c", run, NULL };

		main_pid = spawn(args, 0);
	} else {
		char *args[] = { "/bin/sh", "-l", NULL };

		main_pid = spawn(args, 1);
	}

	/* Reap everything (orphans come to PID 1) until the main program ends
	 * or someone asks for poweroff/reboot. Signals are only delivered
	 * inside sigsuspend, so a request cannot slip between check and wait. */
	sigemptyset(&block);
	sigaddset(&block, SIGUSR1);
	sigaddset(&block, SIGUSR2);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGCHLD);
	signal(SIGCHLD, SIG_DFL);
	sa.sa_handler = on_signal;	/* any handler, so SIGCHLD wakes sigsuspend */
	sigaction(SIGCHLD, &sa, NULL);
	sigprocmask(SIG_BLOCK, &block, &old);
	for (;;) {
		int st;
		pid_t pid;

		while ((pid = waitpid(-1, &st, WNOHANG)) > 0) {
			if (pid != main_pid)
				continue;
			if (run) {
				printf("TREVO-RUN-EXIT %d\n",
				       WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st));
				fflush(stdout);
			}
			main_pid = -1;
		}
		if (pending_action) {
			action = pending_action;
			break;
		}
		if (main_pid < 0)
			break;
		sigsuspend(&old);
	}
	(void)argv;
	shutdown_system(action);
	return 0;
}
