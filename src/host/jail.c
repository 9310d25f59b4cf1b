/* --jail DIR[,netns] --uid N --gid N: the monitor in a jail, as
 * Firecracker's jailer does it, set up in main before any thread starts.
 *
 *   1. Every file the VM reads or creates is named by an absolute path
 *      (kernel, initrd, firmware, disks, the QMP and console sockets'
 *      directories; the defaults resolved as the boards would).
 *   2. unshare(CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWIPC [| CLONE_NEWNET]),
 *      then fork: the child is PID 1 of the new PID namespace and becomes
 *      the monitor; the parent only waits for it, forwards SIGINT/SIGTERM/
 *      SIGHUP and exits with its status.
 *   3. In the child: mounts private, DIR bound on itself, each file bound at
 *      its own path under DIR (read-only unless the VM writes it), a fresh
 *      /proc for this PID namespace, the few device nodes (/dev/null,
 *      /dev/urandom, /dev/kvm for --cpu kvm, /dev/net/tun for a tap), then
 *      pivot_root(DIR) and the old root detached: nothing else of the host's
 *      file system is reachable.
 *   4. rlimits, the supplementary groups cleared, setresgid/setresuid to
 *      the given ids, every capability dropped (bounding, ambient, and the
 *      sets), PR_SET_NO_NEW_PRIVS. seccomp follows in vm_run as without a
 *      jail.
 *
 * The jail directory is the user's (as with Firecracker's chroot base): it
 * must exist; Trevo creates the mount points it needs inside it. */
#include "jail.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/capability.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <grp.h>
#include <unistd.h>

#include "../common.h"
#include "../vm.h"

#define DEFAULT_RISCV_FIRMWARE "/usr/lib/riscv64-linux-gnu/opensbi/generic/fw_jump.bin"

struct bind {
	char path[PATH_MAX];
	bool dir, writable;
};

struct binds {
	struct bind b[32];
	int n;
};

/* The configuration's new strings live as long as the process. */
static char *kept[8 + VM_MAX_DISKS];
static int nr_kept;

static const char *keep(char *s)
{
	if (!s || nr_kept >= (int)ARRAY_SIZE(kept))
		die_host("out of memory");
	kept[nr_kept++] = s;
	return s;
}

static void add_bind(struct binds *bs, const char *path, bool dir, bool writable)
{
	if (bs->n >= (int)ARRAY_SIZE(bs->b))
		die("--jail: too many files to bind");
	snprintf(bs->b[bs->n].path, PATH_MAX, "%s", path);
	bs->b[bs->n].dir = dir;
	bs->b[bs->n].writable = writable;
	bs->n++;
}

/* An existing file, made absolute (the monitor's cwd is / in the jail). */
static const char *abs_file(const char *what, const char *path, struct binds *bs, bool writable)
{
	char real[PATH_MAX];

	if (!path)
		return NULL;
	if (!realpath(path, real))
		die("--jail: %s %s: %s", what, path, strerror(errno));
	add_bind(bs, real, false, writable);
	return keep(strdup(real));
}

/* "unix:PATH[,opts]": the socket is created in the jail, so its directory
 * is bound (writable) and the spec made absolute. */
static const char *abs_socket(const char *what, const char *spec, struct binds *bs)
{
	char dir[PATH_MAX], real[PATH_MAX], *slash, *out;
	const char *path = spec + 5, *opts = strchr(path, ',');
	size_t n = opts ? (size_t)(opts - path) : strlen(path);

	if (n >= sizeof(dir))
		die("--jail: %s path too long", what);
	memcpy(dir, path, n);
	dir[n] = 0;
	slash = strrchr(dir, '/');
	if (slash)
		*slash = 0;
	if (!realpath(slash ? (dir[0] ? dir : "/") : ".", real))
		die("--jail: %s directory of %s: %s", what, spec, strerror(errno));
	add_bind(bs, real, true, true);
	if (asprintf(&out, "unix:%s/%.*s%s", strcmp(real, "/") ? real : "",
		     (int)(n - (slash ? (size_t)(slash - dir) + 1 : 0)),
		     path + (slash ? (slash - dir) + 1 : 0), opts ? opts : "") < 0)
		die_host("out of memory");
	return keep(out);
}

/* Step 1: the configuration names only absolute paths, each bound. */
static void collect(struct vm_config *cfg, struct binds *bs)
{
	bool x86 = cfg->engine && !strcmp(cfg->engine, "kvm");

	/* The defaults, resolved as the boards resolve them (riscv/board.c
	 * board_load, x86/boot.c x86_boot_load). */
	if (!cfg->kernel && (x86 || cfg->sbi == SBI_MONITOR || !cfg->firmware)) {
		cfg->kernel = guest_default_file(x86 ? "x86" : "riscv", x86 ? "bzImage" : "Image");
		if (cfg->kernel && !cfg->initrd)
			cfg->initrd = guest_default_file(x86 ? "x86" : "riscv", "initramfs.cpio.gz");
	}
	if (!x86 && cfg->sbi != SBI_MONITOR && !cfg->firmware)
		cfg->firmware = DEFAULT_RISCV_FIRMWARE;
	cfg->kernel = abs_file("--kernel", cfg->kernel, bs, false);
	cfg->initrd = abs_file("--initrd", cfg->initrd, bs, false);
	cfg->firmware = abs_file("--firmware", cfg->firmware, bs, false);
	for (int i = 0; i < cfg->nr_disks; i++) {
		const char *spec = cfg->disks[i], *opts = strchr(spec, ',');
		char file[PATH_MAX], real[PATH_MAX], *out;
		size_t n = opts ? (size_t)(opts - spec) : strlen(spec);
		if (n >= sizeof(file))
			die("--jail: --disk path too long");
		memcpy(file, spec, n);
		file[n] = 0;
		if (!realpath(file, real))
			die("--jail: --disk %s: %s", file, strerror(errno));
		add_bind(bs, real, false, !(opts && strstr(opts, "readonly")));
		if (asprintf(&out, "%s%s", real, opts ? opts : "") < 0)
			die_host("out of memory");
		cfg->disks[i] = keep(out);
	}
	if (cfg->qmp)
		cfg->qmp = abs_socket("--qmp", cfg->qmp, bs);
	if (cfg->console && !strncmp(cfg->console, "unix:", 5))
		cfg->console = abs_socket("--console", cfg->console, bs);
	/* Device nodes: what the host side opens. */
	add_bind(bs, "/dev/null", false, true);
	add_bind(bs, "/dev/urandom", false, false);
	if (x86)
		add_bind(bs, "/dev/kvm", false, true);
	for (int i = 0; i < cfg->nr_nets; i++)
		if (!strncmp(cfg->nets[i], "tap:", 4)) {
			add_bind(bs, "/dev/net/tun", false, true);
			break;
		}
}

static void mkdirs(const char *path)
{
	char p[PATH_MAX];

	snprintf(p, sizeof(p), "%s", path);
	for (char *s = p + 1; *s; s++) {
		if (*s != '/')
			continue;
		*s = 0;
		if (mkdir(p, 0755) && errno != EEXIST)
			die_host("--jail: mkdir %s: %s", p, strerror(errno));
		*s = '/';
	}
	if (mkdir(p, 0755) && errno != EEXIST)
		die_host("--jail: mkdir %s: %s", p, strerror(errno));
}

/* Step 3: DIR/PATH becomes PATH, read-only unless the VM writes it. */
static void bind_into(const char *root, const struct bind *b)
{
	char target[PATH_MAX * 2];

	snprintf(target, sizeof(target), "%s%s", root, b->path);
	if (b->dir) {
		mkdirs(target);
	} else {
		char *slash = strrchr(target, '/');
		int fd;
		*slash = 0;
		mkdirs(target);
		*slash = '/';
		fd = open(target, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
		if (fd < 0)
			die_host("--jail: cannot create %s: %s", target, strerror(errno));
		close(fd);
	}
	if (mount(b->path, target, NULL, MS_BIND, NULL))
		die_host("--jail: bind %s: %s", b->path, strerror(errno));
	if (!b->writable &&
	    mount(NULL, target, NULL, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV, NULL))
		die_host("--jail: read-only %s: %s", b->path, strerror(errno));
}

static void enter_root(const char *dir, const struct binds *bs)
{
	char old[PATH_MAX + 16], proc[PATH_MAX + 8];

	/* Nothing we mount propagates back to the host. */
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL))
		die_host("--jail: making mounts private: %s", strerror(errno));
	/* pivot_root wants the new root to be a mount point. */
	if (mount(dir, dir, NULL, MS_BIND | MS_REC, NULL))
		die_host("--jail: bind %s: %s", dir, strerror(errno));
	for (int i = 0; i < bs->n; i++)
		bind_into(dir, &bs->b[i]);
	/* /proc of the new PID namespace: the monitor and its threads only
	 * (seccomp's tests, /proc/self/pagemap for snapshots, the sanitizers). */
	snprintf(proc, sizeof(proc), "%s/proc", dir);
	mkdirs(proc);
	if (mount("proc", proc, "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL))
		die_host("--jail: mount /proc: %s", strerror(errno));
	snprintf(old, sizeof(old), "%s/.old-root", dir);
	mkdirs(old);
	if (syscall(SYS_pivot_root, dir, old))
		die_host("--jail: pivot_root %s: %s", dir, strerror(errno));
	if (chdir("/"))
		die_host("--jail: chdir /: %s", strerror(errno));
	if (umount2("/.old-root", MNT_DETACH))
		die_host("--jail: detaching the old root: %s", strerror(errno));
	rmdir("/.old-root");
}

/* Step 4. The limits: open files for images, sockets, eventfds and
 * epoll (a few per device); no core dumps (guest RAM would land in them);
 * no files larger than the disks can grow to is left to the images'
 * own size, since a disk may be any size. */
static void drop_rights(const struct jail_spec *j)
{
	struct rlimit nofile = { 4096, 4096 }, core = { 0, 0 };
	struct __user_cap_header_struct h = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct d[2] = { { 0 } };

	if (setrlimit(RLIMIT_NOFILE, &nofile) || setrlimit(RLIMIT_CORE, &core))
		die_host("--jail: setrlimit: %s", strerror(errno));
	if (setgroups(0, NULL))
		die_host("--jail: setgroups: %s", strerror(errno));
	if (setresgid(j->gid, j->gid, j->gid))
		die_host("--jail: setresgid %u: %s", (unsigned)j->gid, strerror(errno));
	/* The bounding set: no exec'd program (there is none) could regain
	 * anything. Needs CAP_SETPCAP, so before the uid changes. */
	for (int c = 0; c <= CAP_LAST_CAP; c++)
		if (prctl(PR_CAPBSET_DROP, c, 0, 0, 0) && errno != EINVAL)
			die_host("--jail: dropping capability %d: %s", c, strerror(errno));
	prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
	if (setresuid(j->uid, j->uid, j->uid))
		die_host("--jail: setresuid %u: %s", (unsigned)j->uid, strerror(errno));
	/* Even as uid 0 (--uid 0): effective, permitted, inheritable empty. */
	if (syscall(SYS_capset, &h, d))
		die_host("--jail: capset: %s", strerror(errno));
#ifdef __SANITIZE_ADDRESS__
	/* A change of uid made the process non-dumpable, which stops LSan's
	 * tracer (it ptraces the monitor's own threads at exit). Only the
	 * sanitizer build pays this: the plain build stays non-dumpable, so
	 * no other process of the same uid can ptrace or read it. */
	prctl(PR_SET_DUMPABLE, 1, 0, 0, 0);
#endif
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0))
		die_host("--jail: no_new_privs: %s", strerror(errno));
}

static pid_t monitor;

static void forward(int sig)
{
	if (monitor > 0)
		kill(monitor, sig);
}

/* The parent outside the jail: wait, then leave as the monitor did. */
static void __attribute__((noreturn)) wait_monitor(pid_t pid)
{
	struct sigaction sa = { .sa_handler = forward };
	int status;

	monitor = pid;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			die_host("--jail: waitpid: %s", strerror(errno));
	/* _exit: nothing of ours to flush, and no process can be started
	 * any more (the namespace's init is gone: fork gives ENOMEM), which
	 * the sanitizers' exit-time leak check would need. */
	if (WIFEXITED(status))
		_exit(WEXITSTATUS(status));
	/* Killed: the same signal ends us too (the default action). */
	signal(WTERMSIG(status), SIG_DFL);
	raise(WTERMSIG(status));
	_exit(128 + WTERMSIG(status));
}

void jail_enter(const struct jail_spec *j, struct vm_config *cfg)
{
	struct binds bs = { .n = 0 };
	char root[PATH_MAX];
	struct stat st;
	pid_t pid;

	if (!j->have_uid || !j->have_gid)
		die("--jail needs --uid N and --gid N (the ids the monitor runs as)");
	if (!realpath(j->dir, root) || stat(root, &st) || !S_ISDIR(st.st_mode))
		die("--jail %s: not a directory", j->dir);
	if (!strcmp(root, "/"))
		die("--jail /: the jail must be a directory of its own");
	collect(cfg, &bs);
	if (unshare(CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWIPC | (j->netns ? CLONE_NEWNET : 0)))
		die_host("--jail: unshare: %s (needs root or CAP_SYS_ADMIN)", strerror(errno));
	fflush(NULL);
	pid = fork();
	if (pid < 0)
		die_host("--jail: fork: %s", strerror(errno));
	if (pid > 0)
		wait_monitor(pid);
	/* The monitor, PID 1 of its namespace: it dies with its parent. */
	prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
	enter_root(root, &bs);
	drop_rights(j);
	debug("jail: in %s as %u:%u, %d files bound", root, (unsigned)j->uid, (unsigned)j->gid, bs.n);
}
