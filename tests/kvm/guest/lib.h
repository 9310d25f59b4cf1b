/* What the flat test guests share: port I/O, the serial port, the exit port,
 * a random number generator. */
#ifndef GUEST_LIB_H
#define GUEST_LIB_H

#include <stdint.h>

static inline void outb(uint16_t port, uint8_t v) { __asm__ volatile("outb %0, %1" :: "a"(v), "Nd"(port)); }
static inline void outl(uint16_t port, uint32_t v) { __asm__ volatile("outl %0, %1" :: "a"(v), "Nd"(port)); }
static inline uint8_t inb(uint16_t port) { uint8_t v; __asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port)); return v; }
static inline uint32_t inl(uint16_t port) { uint32_t v; __asm__ volatile("inl %1, %0" : "=a"(v) : "Nd"(port)); return v; }
static inline uint32_t mmio_read32(uint64_t a) { return *(volatile uint32_t *)a; }
static inline void mmio_write32(uint64_t a, uint32_t v) { *(volatile uint32_t *)a = v; }

void putc_serial(char c);
void puts_serial(const char *s);
void put_hex(uint64_t v);
void put_dec(uint64_t v);
void lock(volatile int *l);
void unlock(volatile int *l);
void *memset(void *d, int c, unsigned long n);
void *memcpy(void *d, const void *s, unsigned long n);
__attribute__((noreturn)) void guest_exit(uint32_t code);

/* A seeded xorshift64 generator (chaos.c, hostile.c): runs repeat. */
uint64_t rand64(void);
/* Ports where a write ends or resets the run on purpose (the exit port,
 * the i8042 reset pulse, reset control 0xcf9, the ACPI block 0x600-0x603):
 * the confused guests leave them alone. */
int port_ends_run(uint32_t port);
__attribute__((noreturn)) void halt_forever(void);

#endif
