# The translator's tests: lockstep against the interpreter, emitter checks.
build/tests/jit/%: tests/jit/%.c $(LIB_OBJS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Isrc -Itests -o $@ $^ $(LDLIBS)

build/san/tests/jit/%: tests/jit/%.c $(SAN_LIB_OBJS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(SANFLAGS) -Isrc -Itests -o $@ $^ $(LDLIBS)

JIT_TESTS := $(patsubst tests/jit/%.c,%,$(wildcard tests/jit/*.c))
TEST_TARGETS += $(JIT_TESTS:%=build/tests/jit/%) $(JIT_TESTS:%=build/san/tests/jit/%)
