# The fpu unit test #includes its reference vectors; rebuild it when they change.
build/tests/unit/test_fpu build/san/tests/unit/test_fpu: tests/unit/fpu_vectors.h
