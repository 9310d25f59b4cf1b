/* NS16550A UART: the serial port of QEMU's virt board and of every PC.
 *
 * Follows the National/TI PC16550D datasheet: registers RBR/THR, IER,
 * IIR/FCR, LCR, MCR, LSR, MSR, SCR, the divisor latch behind LCR.DLAB, a
 * 16-byte receive FIFO with a trigger level, loopback, and one interrupt
 * output with the datasheet's priorities (Table 4, "Interrupt Control
 * Functions"). Transmission takes no time: a byte written to THR is on the
 * host console (or, in loopback, in the receive FIFO) before the write
 * returns, so THR and the transmitter are always empty afterwards.
 *
 * Threads: registers are accessed from vCPU threads, new input arrives on
 * the I/O thread (uart_rx_ready). One mutex guards the state. Lock order is
 * uart -> console and uart -> interrupt controller: the console calls
 * rx_ready without its own lock, and the interrupt controller never calls
 * back into a device, so raising the line under our lock cannot deadlock and
 * keeps the line level in step with the state that produced it. */
#include <libfdt.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "../host/console.h"
#include "../stats.h"
#include "../vm.h"
#include "../vmstate.h"
#include "device.h"

#define UART_MMIO_SIZE 0x100
#define UART_NR_PORTS 8
#define UART_CLOCK_HZ 3686400
#define UART_FIFO_SIZE 16

/* Register offsets (reg-shift 0) */
enum { REG_RBR_THR_DLL = 0, REG_IER_DLM, REG_IIR_FCR, REG_LCR, REG_MCR, REG_LSR, REG_MSR, REG_SCR };

#define IER_ERBFI 0x01  /* received data available */
#define IER_ETBEI 0x02  /* transmitter holding register empty */
#define IER_ELSI  0x04  /* receiver line status */
#define IER_EDSSI 0x08  /* modem status */

#define IIR_NO_INT     0x01
#define IIR_ID_MSR     0x00
#define IIR_ID_THRE    0x02
#define IIR_ID_RDA     0x04
#define IIR_ID_RLS     0x06
#define IIR_ID_TIMEOUT 0x0c
#define IIR_FIFO_ON    0xc0

#define FCR_ENABLE     0x01
#define FCR_RX_RESET   0x02
#define FCR_TX_RESET   0x04
#define FCR_TRIGGER(v) (((v) >> 6) & 3)

#define LCR_DLAB 0x80

#define MCR_DTR  0x01
#define MCR_RTS  0x02
#define MCR_OUT1 0x04
#define MCR_OUT2 0x08
#define MCR_LOOP 0x10
#define MCR_MASK 0x1f

#define LSR_DR   0x01
#define LSR_OE   0x02
#define LSR_PE   0x04
#define LSR_FE   0x08
#define LSR_BI   0x10
#define LSR_THRE 0x20
#define LSR_TEMT 0x40
#define LSR_ERR_MASK (LSR_OE | LSR_PE | LSR_FE | LSR_BI)

#define MSR_DCTS 0x01
#define MSR_DDSR 0x02
#define MSR_TERI 0x04
#define MSR_DDCD 0x08
#define MSR_CTS  0x10
#define MSR_DSR  0x20
#define MSR_RI   0x40
#define MSR_DCD  0x80
#define MSR_DELTA_MASK 0x0f

struct uart {
	pthread_mutex_t lock;
	struct vm *vm;
	struct console *console;
	struct irq_line irq;
	int irq_level;

	uint8_t ier, lcr, mcr, lsr_err, msr, scr, dll, dlm;
	bool fifo_on;
	unsigned trigger;                /* receive FIFO trigger level, bytes */
	uint8_t rx[UART_FIFO_SIZE];
	unsigned rx_head, rx_count;
	bool thr_ipending;               /* THR-empty interrupt not yet acknowledged */
	bool paused;                     /* VM paused: no input is taken */
	uint64_t rx_bytes, tx_bytes;
};

static const unsigned trigger_levels[4] = { 1, 4, 8, 14 };

static unsigned rx_capacity(const struct uart *u)
{
	/* FIFOs off: the 16450 receiver buffer register, one byte. */
	return u->fifo_on ? UART_FIFO_SIZE : 1;
}

/* A byte arrives at the receiver (from the console or, in loopback, from
 * our own transmitter). Full FIFO: the datasheet's overrun, the byte in the
 * shift register is lost (FIFO mode) or overwrites RBR (16450 mode). */
static void rx_push(struct uart *u, uint8_t b)
{
	unsigned cap = rx_capacity(u);

	if (u->rx_count >= cap) {
		u->lsr_err |= LSR_OE;
		if (!u->fifo_on)
			u->rx[u->rx_head] = b;
		return;
	}
	u->rx[(u->rx_head + u->rx_count) % UART_FIFO_SIZE] = b;
	u->rx_count++;
}

static void rx_reset(struct uart *u)
{
	u->rx_head = u->rx_count = 0;
}

/* Pull what the host has while there is room. In loopback the receiver is
 * cut off from the outside world (datasheet, MCR bit 4). */
static void rx_fill(struct uart *u)
{
	uint8_t buf[UART_FIFO_SIZE];
	unsigned room = rx_capacity(u) - u->rx_count;
	size_t n;

	/* Paused: the input waits in the console (which stops reading its
	 * fd when full) rather than changing what a snapshot saw. */
	if (!u->console || (u->mcr & MCR_LOOP) || room == 0 || u->paused)
		return;
	n = console_read(u->console, buf, room);
	for (size_t i = 0; i < n; i++)
		rx_push(u, buf[i]);
}

/* The pending interrupt of highest priority, as IIR bits 0-3. The character
 * timeout (FIFO mode, data below the trigger level, nothing received or
 * read for four character times) is taken as elapsed as soon as the host
 * has no more input for us: the guest sees input without added latency. */
static uint8_t uart_iir_id(const struct uart *u)
{
	if ((u->ier & IER_ELSI) && (u->lsr_err & LSR_ERR_MASK))
		return IIR_ID_RLS;
	if ((u->ier & IER_ERBFI) && u->rx_count) {
		if (!u->fifo_on || u->rx_count >= u->trigger)
			return IIR_ID_RDA;
		return IIR_ID_TIMEOUT;
	}
	if ((u->ier & IER_ETBEI) && u->thr_ipending)
		return IIR_ID_THRE;
	if ((u->ier & IER_EDSSI) && (u->msr & MSR_DELTA_MASK))
		return IIR_ID_MSR;
	return IIR_NO_INT;
}

static void uart_update_irq(struct uart *u)
{
	int level = uart_iir_id(u) != IIR_NO_INT;

	if (level != u->irq_level) {
		u->irq_level = level;
		irq_set_level(&u->irq, level);
	}
}

/* MSR status bits: in loopback they mirror MCR (DTR->DSR, RTS->CTS,
 * OUT1->RI, OUT2->DCD); otherwise a terminal is attached and ready. */
static uint8_t msr_lines(uint8_t mcr)
{
	if (!(mcr & MCR_LOOP))
		return MSR_CTS | MSR_DSR | MSR_DCD;
	return ((mcr & MCR_RTS) ? MSR_CTS : 0) | ((mcr & MCR_DTR) ? MSR_DSR : 0) |
	       ((mcr & MCR_OUT1) ? MSR_RI : 0) | ((mcr & MCR_OUT2) ? MSR_DCD : 0);
}

static void msr_update(struct uart *u, uint8_t mcr)
{
	uint8_t old = u->msr, now = msr_lines(mcr), delta = 0;

	if ((old ^ now) & MSR_CTS)
		delta |= MSR_DCTS;
	if ((old ^ now) & MSR_DSR)
		delta |= MSR_DDSR;
	if ((old ^ now) & MSR_DCD)
		delta |= MSR_DDCD;
	if ((old & MSR_RI) && !(now & MSR_RI))
		delta |= MSR_TERI;  /* trailing edge only */
	u->msr = now | (old & MSR_DELTA_MASK) | delta;
}

static void uart_transmit(struct uart *u, uint8_t b)
{
	u->tx_bytes++;
	if (u->mcr & MCR_LOOP)
		rx_push(u, b);
	else if (u->console)
		console_write(u->console, &b, 1);
}

static uint8_t uart_read_locked(struct uart *u, unsigned reg)
{
	uint8_t v = 0, id;

	switch (reg) {
	case REG_RBR_THR_DLL:
		if (u->lcr & LCR_DLAB)
			return u->dll;
		if (u->rx_count) {
			v = u->rx[u->rx_head];
			u->rx_head = (u->rx_head + 1) % UART_FIFO_SIZE;
			u->rx_count--;
			u->rx_bytes++;
		}
		rx_fill(u);
		break;
	case REG_IER_DLM:
		return (u->lcr & LCR_DLAB) ? u->dlm : u->ier;
	case REG_IIR_FCR:
		id = uart_iir_id(u);
		/* Reading IIR acknowledges THRE when that is what it reports. */
		if (id == IIR_ID_THRE)
			u->thr_ipending = false;
		v = id | (u->fifo_on ? IIR_FIFO_ON : 0);
		break;
	case REG_LCR:
		return u->lcr;
	case REG_MCR:
		return u->mcr;
	case REG_LSR:
		/* Transmitter always empty; error bits clear on read. */
		v = LSR_THRE | LSR_TEMT | u->lsr_err | (u->rx_count ? LSR_DR : 0);
		u->lsr_err = 0;
		break;
	case REG_MSR:
		v = u->msr;
		u->msr &= ~MSR_DELTA_MASK;
		break;
	case REG_SCR:
		return u->scr;
	}
	return v;
}

static void uart_write_locked(struct uart *u, unsigned reg, uint8_t v)
{
	uint8_t old;

	switch (reg) {
	case REG_RBR_THR_DLL:
		if (u->lcr & LCR_DLAB) {
			u->dll = v;
			break;
		}
		/* Writing THR clears the THRE interrupt; the byte leaves at once
		 * and THR is empty again, which raises it anew. */
		u->thr_ipending = false;
		uart_transmit(u, v);
		u->thr_ipending = true;
		break;
	case REG_IER_DLM:
		if (u->lcr & LCR_DLAB) {
			u->dlm = v;
			break;
		}
		old = u->ier;
		u->ier = v & 0x0f;
		/* Enabling ETBEI while THR is empty raises THRE (Linux's 8250
		 * driver relies on this to kick transmission). */
		if (!(old & IER_ETBEI) && (u->ier & IER_ETBEI))
			u->thr_ipending = true;
		break;
	case REG_IIR_FCR:
		if ((v & FCR_ENABLE) != u->fifo_on) {
			/* Switching modes clears both FIFOs. */
			u->fifo_on = v & FCR_ENABLE;
			rx_reset(u);
		}
		if (!u->fifo_on)
			break;  /* the other bits need FCR0 set */
		if (v & FCR_RX_RESET)
			rx_reset(u);
		/* FCR_TX_RESET: the transmit FIFO is always empty here. */
		u->trigger = trigger_levels[FCR_TRIGGER(v)];
		rx_fill(u);
		break;
	case REG_LCR:
		u->lcr = v;
		break;
	case REG_MCR:
		old = u->mcr;
		u->mcr = v & MCR_MASK;
		msr_update(u, u->mcr);
		if ((old & MCR_LOOP) && !(u->mcr & MCR_LOOP))
			rx_fill(u);
		break;
	case REG_LSR:
	case REG_MSR:
		break;  /* read-only (factory test writes are not modelled) */
	case REG_SCR:
		u->scr = v;
		break;
	}
}

static uint64_t uart_read(void *opaque, uint64_t offset, unsigned size)
{
	struct uart *u = opaque;
	uint8_t v;

	(void)size;
	if (offset >= UART_NR_PORTS)
		return 0;
	pthread_mutex_lock(&u->lock);
	v = uart_read_locked(u, (unsigned)offset);
	uart_update_irq(u);
	pthread_mutex_unlock(&u->lock);
	return v;
}

static void uart_write(void *opaque, uint64_t offset, uint64_t value, unsigned size)
{
	struct uart *u = opaque;

	(void)size;
	if (offset >= UART_NR_PORTS)
		return;
	pthread_mutex_lock(&u->lock);
	uart_write_locked(u, (unsigned)offset, (uint8_t)value);
	uart_update_irq(u);
	pthread_mutex_unlock(&u->lock);
}

static const struct mmio_ops uart_ops = {
	.read = uart_read,
	.write = uart_write,
};

/* I/O thread: the console has new input. */
static void uart_rx_ready(void *opaque)
{
	struct uart *u = opaque;

	pthread_mutex_lock(&u->lock);
	rx_fill(u);
	uart_update_irq(u);
	pthread_mutex_unlock(&u->lock);
}

static void uart_fdt_extra(void *fdt, void *opaque)
{
	(void)opaque;
	fdt_property_u32(fdt, "clock-frequency", UART_CLOCK_HZ);
}

/* The datasheet's master reset values (Table 8 of the PC16550D). */
static void uart_power_on(struct uart *u)
{
	u->ier = 0;
	u->lcr = 0;
	u->mcr = 0;
	u->lsr_err = 0;
	u->msr = msr_lines(0);
	u->scr = 0;
	u->dll = u->dlm = 0;
	u->fifo_on = false;
	u->trigger = 1;
	u->thr_ipending = false;
	rx_reset(u);
}

/* Lock held: put the line where the state says, whatever it was. */
static void uart_sync_irq(struct uart *u)
{
	u->irq_level = uart_iir_id(u) != IIR_NO_INT;
	irq_set_level(&u->irq, u->irq_level);
}

static void uart_reset(void *opaque)
{
	struct uart *u = opaque;

	pthread_mutex_lock(&u->lock);
	uart_power_on(u);
	uart_sync_irq(u);
	pthread_mutex_unlock(&u->lock);
}

static void uart_pause(void *opaque)
{
	struct uart *u = opaque;

	pthread_mutex_lock(&u->lock);
	u->paused = true;
	pthread_mutex_unlock(&u->lock);
}

static void uart_resume(void *opaque)
{
	struct uart *u = opaque;

	pthread_mutex_lock(&u->lock);
	u->paused = false;
	rx_fill(u);  /* what was typed while paused */
	uart_update_irq(u);
	pthread_mutex_unlock(&u->lock);
}

/* Every register, the receive FIFO and the pending THRE interrupt. A load
 * takes nothing on trust: bits no register has, a trigger level the FCR
 * cannot choose, a FIFO cursor or count beyond its size are refused. */
static int uart_state(void *opaque, struct vmstate *s)
{
	struct uart *u = opaque;
	uint32_t trigger, head, count;
	int err;

	pthread_mutex_lock(&u->lock);
	trigger = u->trigger;
	head = u->rx_head;
	count = u->rx_count;
	if (vms_version(s, 1) < 0)
		goto out;
	vms_u8(s, &u->ier);
	vms_check(s, !(u->ier & ~0x0f), "ns16550a IER");
	vms_u8(s, &u->lcr);
	vms_u8(s, &u->mcr);
	vms_check(s, !(u->mcr & ~MCR_MASK), "ns16550a MCR");
	vms_u8(s, &u->lsr_err);
	vms_check(s, !(u->lsr_err & ~LSR_ERR_MASK), "ns16550a LSR");
	vms_u8(s, &u->msr);
	vms_u8(s, &u->scr);
	vms_u8(s, &u->dll);
	vms_u8(s, &u->dlm);
	vms_bool(s, &u->fifo_on);
	vms_u32(s, &trigger);
	vms_check(s, trigger == 1 || trigger == 4 || trigger == 8 || trigger == 14,
		  "ns16550a trigger level");
	vms_bytes(s, u->rx, sizeof(u->rx));
	vms_u32(s, &head);
	vms_check(s, head < UART_FIFO_SIZE, "ns16550a FIFO head");
	vms_u32(s, &count);
	vms_check(s, count <= (u->fifo_on ? UART_FIFO_SIZE : 1u), "ns16550a FIFO count");
	vms_bool(s, &u->thr_ipending);
out:
	err = vms_error(s);
	if (s->loading) {
		if (err) {
			warn("ns16550a: saved state refused (%s); device reset", strerror(-err));
			uart_power_on(u);
		} else {
			u->trigger = trigger;
			u->rx_head = head;
			u->rx_count = count;
		}
		uart_sync_irq(u);
	}
	pthread_mutex_unlock(&u->lock);
	return err;
}

static void uart_stats(void *opaque, const struct stats_sink *s)
{
	struct uart *u = opaque;

	pthread_mutex_lock(&u->lock);
	stats_put(s, "rx-bytes", u->rx_bytes);
	stats_put(s, "tx-bytes", u->tx_bytes);
	pthread_mutex_unlock(&u->lock);
}

/* At teardown (the bus still names u, but no vCPU runs). */
static void uart_destroy(void *opaque)
{
	struct uart *u = opaque;

	console_clear_receiver(u->console, u);
	pthread_mutex_destroy(&u->lock);
	free(u);
}

static int uart_create(struct vm *vm, const struct dev_params *p, void **state)
{
	struct uart *u;
	int irq = p->irq, err;

	if (!p->base && !p->port) {
		warn("ns16550a: needs an MMIO base or an I/O port");
		return -EINVAL;
	}
	if (irq < 0 && (irq = vm_alloc_irq(vm)) < 0) {
		warn("ns16550a: no free interrupt line");
		return irq;
	}
	u = calloc(1, sizeof(*u));
	if (!u)
		return -ENOMEM;
	*state = u;
	pthread_mutex_init(&u->lock, NULL);
	u->vm = vm;
	u->console = vm->console;
	u->irq = vm_irq_line(vm, (unsigned)irq);
	uart_power_on(u);

	if (p->base) {
		struct dev_desc d = {
			.node_name = "serial",
			.compatible = "ns16550a",
			.base = p->base,
			.size = UART_MMIO_SIZE,
			.irq = irq,
			.fdt_extra = uart_fdt_extra,
			.opaque = u,
		};
		err = vm_add_mmio(vm, p->base, UART_MMIO_SIZE, &uart_ops, u, "ns16550a");
		if (err) {
			free(u);
			return err;
		}
		/* From here on the bus holds u: it lives as long as the VM. */
		if ((err = vm_describe(vm, &d)))
			return err;
	}
	if (p->port && (err = vm_add_pio(vm, p->port, UART_NR_PORTS, &uart_ops, u, "ns16550a"))) {
		if (!p->base)
			free(u);
		return err;
	}
	console_set_receiver(u->console, uart_rx_ready, u);
	return 0;
}

static const struct device_ops ns16550a_model = {
	.name = "ns16550a",
	.create = uart_create,
	.reset = uart_reset,
	.pause = uart_pause,
	.resume = uart_resume,
	.state = uart_state,
	.stats = uart_stats,
	.destroy = uart_destroy,
};
DEVICE_MODEL(ns16550a_model)
