/* libFuzzer target for what a QMP client sends: each input is parsed as one
 * JSON message with the server's limits, then looked at as QMP does
 * ("execute", "arguments", "id"). A malformed or oversized message must be
 * refused with an error, never crash or leak. */
#include <stdio.h>
#include <stdlib.h>

#include "host/json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct json_limits lim = { .depth = 16, .size = 64 * 1024 };
	struct json *v = NULL;
	char err[128];

	if (json_parse((const char *)data, size, &lim, &v, err, sizeof(err)) == 0) {
		const struct json *ex = json_get(v, "execute");
		const struct json *args = json_get(v, "arguments");
		const struct json *id = json_get(v, "id");
		(void)ex; (void)args; (void)id;
		json_free(v);
	}
	return 0;
}
