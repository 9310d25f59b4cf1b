/* Fixed device-tree phandle of the SiFive test device, so that the board can
 * point syscon-poweroff / syscon-reboot nodes at it (regmap = <phandle>,
 * offset 0, value SIFIVE_TEST_POWEROFF / SIFIVE_TEST_REBOOT). Chosen far above
 * the small numbers a board hands out to harts and interrupt controllers. */
#ifndef TREVO_SIFIVE_TEST_H
#define TREVO_SIFIVE_TEST_H

#define SIFIVE_TEST_PHANDLE  0x7e57
#define SIFIVE_TEST_SIZE     0x1000

/* Values written to offset 0 (low 16 bits; FAIL carries code << 16). */
#define SIFIVE_TEST_FAIL     0x3333
#define SIFIVE_TEST_POWEROFF 0x5555
#define SIFIVE_TEST_REBOOT   0x7777

#endif
