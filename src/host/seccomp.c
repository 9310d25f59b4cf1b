/* The system-call sandbox. Each thread kind has one allowlist, written
 * here as data; a thread installs its own list when it starts (and the
 * main thread once set-up is over, just before it becomes the controller),
 * so no thread inherits another kind's filter: every thread but the main
 * one is created before the main thread confines itself, and the main
 * thread creates none afterwards.
 *
 * A call outside the list traps (SECCOMP_RET_TRAP): the SIGSYS handler
 * names the call and the thread kind on stderr and ends the process with
 * status 159 (128 + SIGSYS, what a shell shows for a process SIGSYS
 * killed). A compromised device model is then stopped at its first step
 * outside what Trevo does, and the message tells a developer which list
 * to extend when Trevo itself grows a new call.
 *
 * Arguments are checked where it is cheap and meaningful: ioctl by request
 * number (KVM's, the terminal's), mmap/mprotect never with PROT_EXEC (the
 * monitor never makes code at run time), openat only read-only. */
#include "seccomp.h"

#include <fcntl.h>
#include <linux/kvm.h>
#include <pthread.h>
#include <seccomp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <termios.h>
#include <unistd.h>

#include "../common.h"
#include "console.h"

#if defined(__SANITIZE_ADDRESS__)
#define TREVO_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define TREVO_SANITIZED 1
#endif
#endif

#define SECCOMP_EXIT_STATUS (128 + SIGSYS)

/* One allowed call, with at most one argument condition:
 * (arg[argi] & mask) == value. argi < 0: any arguments. */
struct allow {
	int nr;
	signed char argi;
	uint64_t mask, value;
};

#define ALLOW(name) { SCMP_SYS(name), -1, 0, 0 }
/* ioctl numbers are 32 bits in the kernel (unsigned int cmd). */
#define ALLOW_IOCTL(req) { SCMP_SYS(ioctl), 1, 0xffffffffu, (uint32_t)(req) }
#define ALLOW_IF(name, argi, mask, value) { SCMP_SYS(name), argi, mask, value }
#define END { -1, -1, 0, 0 }

/* Every thread. */
static const struct allow base[] = {
	ALLOW(futex),          /* mutexes, condition variables, joins */
	ALLOW(write),          /* warnings to stderr; eventfd kicks; console output */
	ALLOW(exit),           /* a thread ending */
	ALLOW(exit_group),     /* the process ending, and the SIGSYS handler */
	ALLOW(rt_sigreturn),   /* the kick signal (KVM) and term_signal return */
	ALLOW(rt_sigprocmask), /* glibc masks signals around thread exit */
	ALLOW(rt_sigaction),   /* term_signal resets its signal before re-raising */
	ALLOW(getpid),         /* raise() */
	ALLOW(gettid),         /* raise(), counters by thread id */
	ALLOW(tgkill),         /* raise(), pthread_kill (KVM vCPU kicks) */
	ALLOW(clock_gettime),  /* vDSO fallback: timers, deadlines */
	ALLOW(clock_nanosleep),
	ALLOW(nanosleep),
	ALLOW(sched_yield),
	ALLOW(restart_syscall),
	ALLOW(brk),            /* malloc */
	ALLOW_IF(mmap, 2, PROT_EXEC, 0),     /* malloc's large blocks and arenas, */
	ALLOW_IF(mprotect, 2, PROT_EXEC, 0), /* arena growth: never executable */
	ALLOW(munmap),
	ALLOW(madvise),        /* free() giving pages back */
	/* stdio's first use of a stream fstat()s it (to pick buffering). */
	ALLOW(fstat),
	ALLOW_IF(newfstatat, 3, AT_EMPTY_PATH, AT_EMPTY_PATH),
	/* term_restore from a signal handler or the exit path (tcsetattr),
	 * isatty (tcgetattr). */
	ALLOW_IOCTL(TCGETS),
	ALLOW_IOCTL(TCSETS),
	ALLOW_IOCTL(TCSETSW),
	ALLOW_IOCTL(TCSETSF),
	END,
};

/* What device register accesses do on the thread that made them (the I/O
 * model, src/dev/README.md): console output that waits a moment for a
 * terminal, eventfd kicks (write, in base), virtio-rng, the RTC's alarm,
 * re-arming the event loop's watches. */
static const struct allow device_registers[] = {
	ALLOW(poll),
	ALLOW(ppoll),
	ALLOW(getrandom),      /* virtio-rng, GRND_NONBLOCK */
	ALLOW(timerfd_settime),/* goldfish-rtc's alarm */
	ALLOW(timerfd_gettime),
	ALLOW(epoll_ctl),      /* console input watch re-armed when the guest drains it */
	ALLOW(sendto),         /* console on a unix socket (send) */
	ALLOW(read),           /* eventfd drains */
	END,
};

/* Raising an interrupt line under KVM from any thread: irqfd is a write
 * (in base); without irqfd, or for a level line, KVM_IRQ_LINE on the VM. */
static const struct allow kvm_irq[] = {
	ALLOW_IOCTL(KVM_IRQ_LINE),
	ALLOW_IOCTL(KVM_IRQ_LINE_STATUS),
	END,
};

/* A KVM vCPU thread: run the vCPU, and the few state calls an exit needs
 * (string I/O translates the guest's address and advances RIP; a failing
 * guest's registers are printed; the halt poll reads the MP state). */
static const struct allow vcpu_kvm[] = {
	ALLOW_IOCTL(KVM_RUN),
	ALLOW_IOCTL(KVM_GET_REGS),
	ALLOW_IOCTL(KVM_SET_REGS),
	ALLOW_IOCTL(KVM_GET_SREGS),
	ALLOW_IOCTL(KVM_TRANSLATE),
	ALLOW_IOCTL(KVM_GET_VCPU_EVENTS),
	ALLOW_IOCTL(KVM_SET_VCPU_EVENTS),
	ALLOW_IOCTL(KVM_GET_MP_STATE),
	END,
};

/* The controller with the vCPUs parked: pause, resume, reset and stop.
 * Reset and get/set of vCPU state (KVM: every register class, the
 * in-kernel irqchip and PIT); destroy closes fds, deassigns ioeventfds and
 * irqfds, joins threads, removes its sockets. */
static const struct allow controller[] = {
	ALLOW(read),
	ALLOW(close),
	ALLOW(unlink),         /* the QMP and console sockets, on the way out */
	ALLOW(epoll_ctl),      /* devices dropping their watches */
	ALLOW(timerfd_settime),/* a reset RTC disarms its alarm */
	ALLOW(poll),
	ALLOW(ppoll),
	ALLOW(shutdown),       /* QMP clients closed on stop */
	ALLOW(getrandom),
	ALLOW(fsync),          /* block images flushed on destroy */
	ALLOW(fdatasync),
	ALLOW_IOCTL(KVM_GET_REGS), ALLOW_IOCTL(KVM_SET_REGS),
	ALLOW_IOCTL(KVM_GET_SREGS), ALLOW_IOCTL(KVM_SET_SREGS),
	ALLOW_IOCTL(KVM_GET_FPU), ALLOW_IOCTL(KVM_SET_FPU),
	ALLOW_IOCTL(KVM_GET_XSAVE), ALLOW_IOCTL(KVM_SET_XSAVE),
	ALLOW_IOCTL(KVM_GET_XCRS), ALLOW_IOCTL(KVM_SET_XCRS),
	ALLOW_IOCTL(KVM_GET_LAPIC), ALLOW_IOCTL(KVM_SET_LAPIC),
	ALLOW_IOCTL(KVM_GET_DEBUGREGS), ALLOW_IOCTL(KVM_SET_DEBUGREGS),
	ALLOW_IOCTL(KVM_GET_VCPU_EVENTS), ALLOW_IOCTL(KVM_SET_VCPU_EVENTS),
	ALLOW_IOCTL(KVM_GET_MP_STATE), ALLOW_IOCTL(KVM_SET_MP_STATE),
	ALLOW_IOCTL(KVM_GET_MSRS), ALLOW_IOCTL(KVM_SET_MSRS),
	ALLOW_IOCTL(KVM_GET_MSR_INDEX_LIST),
	ALLOW_IOCTL(KVM_SET_CPUID2),
	ALLOW_IOCTL(KVM_GET_IRQCHIP), ALLOW_IOCTL(KVM_SET_IRQCHIP),
	ALLOW_IOCTL(KVM_GET_PIT2), ALLOW_IOCTL(KVM_SET_PIT2),
	ALLOW_IOCTL(KVM_GET_CLOCK), ALLOW_IOCTL(KVM_SET_CLOCK), /* snapshots: kvmclock */
	ALLOW_IOCTL(KVM_GET_DEVICE_ATTR), ALLOW_IOCTL(KVM_SET_DEVICE_ATTR),
	ALLOW_IOCTL(KVM_HAS_DEVICE_ATTR),
	ALLOW_IOCTL(KVM_IOEVENTFD),
	ALLOW_IOCTL(KVM_IRQFD),
	ALLOW_IOCTL(KVM_CHECK_EXTENSION),
	END,
};

/* QMP snapshot-save runs on the controller with the machine standing
 * still (vm_call_paused): it creates the file the management client named
 * (a temporary file beside it, renamed into place, the directory fsynced),
 * reads /proc/self/pagemap to skip pages the host never mapped, checks
 * the disks' identity with stat(), and compresses RAM with zstd's worker
 * threads, which inherit this list (clone3 and what a new glibc thread
 * does first). */
static const struct allow snapshot_writer[] = {
	ALLOW(openat),
	ALLOW(pwrite64), ALLOW(pread64),
	ALLOW(ftruncate),
	ALLOW(rename), ALLOW(renameat), ALLOW(renameat2),
	ALLOW(lseek),
	ALLOW(newfstatat),
	ALLOW(clone3), ALLOW(clone),
	ALLOW(set_robust_list), ALLOW(rseq),
	ALLOW(sched_getaffinity),
	END,
};

/* virtio-blk's worker: requests on the open image, nothing else; for a
 * network block device (libnbd, connected at set-up) its socket's
 * traffic. */
static const struct allow blk_worker[] = {
	ALLOW(sendto), ALLOW(recvfrom), ALLOW(sendmsg), ALLOW(recvmsg),
	ALLOW(poll), ALLOW(ppoll),
	ALLOW(read),           /* the kick eventfd */
	ALLOW(preadv),
	ALLOW(pwritev),
	ALLOW(pread64),
	ALLOW(pwrite64),
	ALLOW(fsync),          /* VIRTIO_BLK_T_FLUSH */
	ALLOW(fdatasync),
	ALLOW(fallocate),      /* DISCARD and WRITE_ZEROES */
	ALLOW(lseek),
	END,
};

/* virtio-net's worker: the tap fd, or slirp, which is a user-mode TCP/IP
 * stack: each guest connection becomes a host socket made here, at the
 * guest's request (that is what user networking is). */
static const struct allow net_worker[] = {
	ALLOW(read), ALLOW(readv), ALLOW(writev),  /* tap frames, the kick eventfd */
	ALLOW(poll), ALLOW(ppoll),
	ALLOW(socket), ALLOW(connect), ALLOW(bind), ALLOW(listen),
	ALLOW(accept), ALLOW(accept4), ALLOW(shutdown), ALLOW(close),
	ALLOW(sendto), ALLOW(recvfrom), ALLOW(sendmsg), ALLOW(recvmsg),
	ALLOW(setsockopt), ALLOW(getsockopt), ALLOW(getsockname), ALLOW(getpeername),
	ALLOW(fcntl),          /* non-blocking sockets */
	ALLOW_IOCTL(FIONREAD), /* slirp's urgent-data bookkeeping */
	ALLOW_IOCTL(FIONBIO),
	/* slirp reads /etc/resolv.conf again when the guest asks its DNS
	 * proxy; read-only opens only. */
	ALLOW_IF(openat, 2, O_ACCMODE | O_CREAT | O_TRUNC, O_RDONLY),
	END,
};

/* The event loop: console input, the RTC's timerfd, irqfd resample fds. */
static const struct allow event_loop[] = {
	ALLOW(epoll_wait), ALLOW(epoll_pwait), ALLOW(epoll_ctl),
	ALLOW(read), ALLOW(recvfrom),
	ALLOW(accept4), ALLOW(close), /* a console on a unix socket: one client */
	ALLOW(fcntl),
	ALLOW(poll), ALLOW(ppoll),
	ALLOW(timerfd_settime),
	END,
};

/* The QMP server: its listening socket and up to QMP_MAX_CLIENTS clients;
 * query-stats reads KVM's binary stats fds. */
static const struct allow qmp[] = {
	ALLOW(poll), ALLOW(ppoll),
	ALLOW(accept), ALLOW(accept4), ALLOW(close), ALLOW(shutdown),
	ALLOW(read), ALLOW(recvfrom), ALLOW(sendto), ALLOW(sendmsg),
	ALLOW(setsockopt), ALLOW(getsockopt), ALLOW(fcntl),
	ALLOW(pread64),
	END,
};

/* Live migration's sender: one stream socket to the destination, which it
 * makes itself when QMP migrate names it (socket, connect; timeouts by
 * setsockopt); /proc/self/pagemap (read-only) to skip RAM the host never
 * mapped; stat() of the disk images; KVM_GET_DIRTY_LOG for the pages
 * KVM's vCPUs wrote. */
static const struct allow migration_sender[] = {
	ALLOW(socket), ALLOW(connect), ALLOW(setsockopt), ALLOW(getsockopt),
	ALLOW(sendto), ALLOW(sendmsg), ALLOW(recvfrom), ALLOW(recvmsg), ALLOW(read),
	ALLOW(poll), ALLOW(ppoll), ALLOW(shutdown), ALLOW(close), ALLOW(fcntl),
	ALLOW_IF(openat, 2, O_ACCMODE | O_CREAT | O_TRUNC, O_RDONLY),
	ALLOW(pread64),
	ALLOW(newfstatat),     /* the disks' identity (size) for the stream's header */
	ALLOW_IOCTL(KVM_GET_DIRTY_LOG),
	END,
};

/* The last phase of a live migration runs on the controller with the
 * machine paused (vm_call_paused): it turns KVM's dirty logging off (a
 * memory slot set again), reads the last dirty log, sends the rest on the
 * stream (sendto, in device_registers) and reads the destination's
 * answer (recvfrom). */
static const struct allow migration_final[] = {
	ALLOW_IOCTL(KVM_SET_USER_MEMORY_REGION),
	ALLOW_IOCTL(KVM_GET_DIRTY_LOG),
	ALLOW(recvfrom),
	END,
};

static const struct allow console_reader[] = {
	ALLOW(read),
	ALLOW(poll),
	END,
};

#ifdef TREVO_SANITIZED
/* ASan/LSan/UBSan, in the sanitizer build only: a report reads
 * /proc/self/maps and may start llvm-symbolizer; the leak check at exit
 * stops the world with a ptrace-ing clone and walks /proc/self/task. */
static const struct allow sanitizer[] = {
	ALLOW(openat), ALLOW(open), ALLOW(close), ALLOW(read), ALLOW(pread64),
	ALLOW(lseek), ALLOW(getdents), ALLOW(getdents64), ALLOW(readlink), ALLOW(readlinkat),
	ALLOW(stat), ALLOW(lstat), ALLOW(newfstatat), ALLOW(statx),
	ALLOW(clone), ALLOW(clone3), ALLOW(vfork), ALLOW(fork), ALLOW(execve),
	ALLOW(wait4), ALLOW(waitid), ALLOW(ptrace), ALLOW(prctl),
	ALLOW(pipe), ALLOW(pipe2), ALLOW(dup), ALLOW(dup2), ALLOW(dup3),
	ALLOW(kill), ALLOW(getppid), ALLOW(sigaltstack),
	ALLOW(prlimit64), ALLOW(getrlimit), ALLOW(setrlimit),
	ALLOW(sched_getaffinity), ALLOW(sysinfo), ALLOW(uname),
	ALLOW(mmap), ALLOW(mprotect), ALLOW(mremap), ALLOW(poll),
	ALLOW(personality),
	END,
};
#endif

#define MAX_PARTS 6
static const struct kind {
	const char *name;
	const struct allow *part[MAX_PARTS];
} kinds[SECCOMP_NR_THREADS] = {
	[SECCOMP_MAIN] = { "main (controller)", { base, controller, kvm_irq, device_registers, snapshot_writer, migration_final } },
	[SECCOMP_VCPU_INTERP] = { "vCPU (interp)", { base, device_registers } },
	[SECCOMP_VCPU_KVM] = { "vCPU (kvm)", { base, device_registers, kvm_irq, vcpu_kvm } },
	[SECCOMP_KVM_WATCHER] = { "KVM halt watcher", { base } },
	[SECCOMP_BLK_WORKER] = { "disk worker (virtio-blk, AHCI)", { base, blk_worker, kvm_irq } },
	[SECCOMP_NET_WORKER] = { "network worker (virtio-net, e1000)", { base, net_worker, kvm_irq } },
	[SECCOMP_EVENT_LOOP] = { "event loop", { base, event_loop, kvm_irq, device_registers } },
	[SECCOMP_QMP] = { "QMP", { base, qmp } },
	[SECCOMP_CONSOLE_READER] = { "console reader", { base, console_reader } },
	[SECCOMP_MIGRATION] = { "migration sender", { base, migration_sender } },
};

static bool enabled;
static __thread int my_kind = -1;
/* Names resolved at set-up: libseccomp's resolver allocates, which a
 * signal handler must not do. */
#define MAX_SYSCALL_NR 512
static char *syscall_names[MAX_SYSCALL_NR];

const char *seccomp_thread_name(enum seccomp_thread kind)
{
	return (unsigned)kind < SECCOMP_NR_THREADS ? kinds[kind].name : "unknown";
}

bool seccomp_enabled(void)
{
	return enabled;
}

static void put(const char *s)
{
	if (write(STDERR_FILENO, s, strlen(s)) < 0) {
		/* nothing left to tell it to */
	}
}

static void put_num(long v)
{
	char buf[24], *p = buf + sizeof(buf);

	*--p = '\0';
	if (v < 0)
		v = -v;
	do
		*--p = (char)('0' + v % 10);
	while ((v /= 10) && p > buf);
	put(p);
}

/* Async-signal-safe: write, tcsetattr (term_restore), _exit. */
static void sigsys_handler(int sig, siginfo_t *si, void *uc)
{
	int nr = si->si_syscall;

	(void)sig;
	(void)uc;
	term_restore();
	put("\ntrevo: seccomp: the ");
	put(seccomp_thread_name((enum seccomp_thread)my_kind));
	put(" thread made system call ");
	put(nr >= 0 && nr < MAX_SYSCALL_NR && syscall_names[nr] ? syscall_names[nr] : "?");
	put(" (");
	put_num(nr);
	put("), which its allowlist refuses; stopping (--sandbox off disables the filter)\n");
	_exit(SECCOMP_EXIT_STATUS);
}

void seccomp_setup(bool on)
{
	struct sigaction sa;

	enabled = on;
	if (!on)
		return;
	for (int nr = 0; nr < MAX_SYSCALL_NR; nr++)
		if (!syscall_names[nr])
			syscall_names[nr] = seccomp_syscall_resolve_num_arch(SCMP_ARCH_NATIVE, nr);
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = sigsys_handler;
	sa.sa_flags = SA_SIGINFO;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGSYS, &sa, NULL) < 0)
		die_host("seccomp: cannot install the SIGSYS handler: %s", strerror(errno));
}

static int add_part(scmp_filter_ctx ctx, const struct allow *a)
{
	for (; a->nr != -1; a++) {
		int err;

		if (a->nr < 0)
			continue;  /* not a call on this architecture */
		if (a->argi < 0)
			err = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, a->nr, 0);
		else
			err = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, a->nr, 1,
					       SCMP_CMP((unsigned)a->argi, SCMP_CMP_MASKED_EQ,
							a->mask, a->value));
		/* The same call in two parts of one kind: once is enough. */
		if (err && err != -EEXIST)
			return err;
	}
	return 0;
}

void seccomp_enter(enum seccomp_thread kind)
{
	const struct kind *k;
	scmp_filter_ctx ctx;
	sigset_t sys;
	int err = 0;

	if (!enabled || (unsigned)kind >= SECCOMP_NR_THREADS)
		return;
	k = &kinds[kind];
	/* A blocked SIGSYS would make the kernel kill us without the message. */
	sigemptyset(&sys);
	sigaddset(&sys, SIGSYS);
	pthread_sigmask(SIG_UNBLOCK, &sys, NULL);
	ctx = seccomp_init(SCMP_ACT_TRAP);
	if (!ctx)
		die_host("seccomp: cannot create the %s filter", k->name);
	for (int i = 0; i < MAX_PARTS && k->part[i] && !err; i++)
		err = add_part(ctx, k->part[i]);
#ifdef TREVO_SANITIZED
	if (!err)
		err = add_part(ctx, sanitizer);
#endif
	if (!err)
		err = seccomp_load(ctx);
	seccomp_release(ctx);
	if (err)
		die_host("seccomp: cannot install the %s filter: %s", k->name, strerror(-err));
	my_kind = (int)kind;
}
