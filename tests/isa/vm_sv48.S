/* Sv48 page walks, superpages, permissions, A/D, sfence.vma. */
#include "isa.h"
#define LEVELS 4
#define SATP_MODE SATP_SV48
#include "vm_tests.h"
