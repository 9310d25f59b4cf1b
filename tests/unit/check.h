/* The unit tests' check: one line per check, "PASS name" or "FAIL name:
 * condition (line N)", as tests/run.sh reads them, name after the test's
 * CHECK_PREFIX when it defines one before including this; failures counts
 * the failed ones for the test's exit status. */
#ifndef TREVO_TESTS_UNIT_CHECK_H
#define TREVO_TESTS_UNIT_CHECK_H

#include <stdio.h>

#ifndef CHECK_PREFIX
#define CHECK_PREFIX ""
#endif

static int failures;

#define CHECK(name, cond)                                                        \
	do {                                                                     \
		if (cond)                                                        \
			printf("PASS " CHECK_PREFIX "%s\n", name);               \
		else {                                                           \
			printf("FAIL " CHECK_PREFIX "%s: %s (line %d)\n", name, #cond, __LINE__); \
			failures++;                                              \
		}                                                                \
		fflush(stdout);                                                  \
	} while (0)

#endif
