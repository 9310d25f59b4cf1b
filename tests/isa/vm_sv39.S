/* Sv39 page walks, superpages, permissions, A/D, sfence.vma. */
#include "isa.h"
#define LEVELS 3
#define SATP_MODE SATP_SV39
#include "vm_tests.h"
