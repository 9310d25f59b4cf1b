/* The SiFive test device's window and the values a guest writes to offset 0.
 * A board that points syscon-poweroff / syscon-reboot nodes at it (regmap =
 * the phandle it gave the device, offset 0, value SIFIVE_TEST_POWEROFF /
 * SIFIVE_TEST_REBOOT) uses these names. */
#ifndef TREVO_SIFIVE_TEST_H
#define TREVO_SIFIVE_TEST_H

#define SIFIVE_TEST_SIZE     0x1000

/* Values written to offset 0 (low 16 bits; FAIL carries code << 16). */
#define SIFIVE_TEST_FAIL     0x3333
#define SIFIVE_TEST_POWEROFF 0x5555
#define SIFIVE_TEST_REBOOT   0x7777

#endif
