/* A small JSON (RFC 8259) parser and writer for the QMP server and client.
 *
 * The parser takes untrusted bytes: it checks the whole grammar, strict
 * UTF-8, \u escapes with surrogate pairs, and bounds nesting depth and input
 * size, so that nothing a client sends can exhaust the stack. It returns a
 * tree freed with json_free.
 *
 * The writer appends to a growing buffer with ", " and ": " separators (the
 * layout QEMU's QMP output has) and escapes every string it is given; bytes
 * that are not UTF-8 come out as U+FFFD, so its output is always valid. */
#ifndef TREVO_JSON_H
#define TREVO_JSON_H

#include "../common.h"

enum json_type { JSON_NULL, JSON_BOOL, JSON_INT, JSON_DOUBLE, JSON_STRING, JSON_ARRAY, JSON_OBJECT };

struct json_member;

struct json {
	enum json_type type;
	bool b;                       /* JSON_BOOL */
	int64_t i;                    /* JSON_INT: an integer that fits in int64 */
	double d;                     /* JSON_DOUBLE: a fraction, exponent or a larger integer */
	char *str;                    /* JSON_STRING: NUL-terminated, may hold \u0000 */
	size_t len;                   /* its length in bytes */
	size_t n;                     /* JSON_ARRAY items / JSON_OBJECT members */
	struct json **item;
	struct json_member *member;   /* in input order, keys unique */
};

struct json_member {
	char *key;
	size_t key_len;
	struct json *value;
};

#define JSON_DEFAULT_DEPTH 32
#define JSON_DEFAULT_SIZE (1 * MiB)

struct json_limits {
	unsigned depth;               /* arrays/objects nested deeper: error */
	size_t size;                  /* longer input: error */
};

/* Parse exactly one value from text[0..len) (surrounding whitespace is
 * fine). limits NULL: the defaults. 0 and *out, or -EINVAL (bad JSON),
 * -E2BIG (a limit), -ENOMEM, with a one-line reason in err. */
int json_parse(const char *text, size_t len, const struct json_limits *limits,
	       struct json **out, char *err, size_t err_size);
void json_free(struct json *v);

/* The member named key of an object, or NULL (also when v is no object). */
const struct json *json_get(const struct json *v, const char *key);
const char *json_type_name(enum json_type t);   /* "string", "object"... */

#define JSON_WRITER_DEPTH 32

struct json_writer {
	char *buf;                    /* NUL-terminated when len > 0 */
	size_t len, cap;
	int err;                      /* sticky: -ENOMEM, -E2BIG (too deep), -EINVAL (misuse) */
	unsigned depth;
	bool need_comma[JSON_WRITER_DEPTH + 1];
	bool after_key;
};

void jw_init(struct json_writer *w);
void jw_free(struct json_writer *w);
/* The text so far ("" when empty); NULL once an error happened. */
const char *jw_text(const struct json_writer *w);
void jw_object_begin(struct json_writer *w);
void jw_object_end(struct json_writer *w);
void jw_array_begin(struct json_writer *w);
void jw_array_end(struct json_writer *w);
/* A member's name; its value follows with the next call. */
void jw_key(struct json_writer *w, const char *key);
void jw_string(struct json_writer *w, const char *s);
void jw_string_len(struct json_writer *w, const char *s, size_t len);
void jw_int(struct json_writer *w, int64_t v);
void jw_uint(struct json_writer *w, uint64_t v);
void jw_double(struct json_writer *w, double v);  /* NaN and infinities: null */
void jw_bool(struct json_writer *w, bool v);
void jw_null(struct json_writer *w);
/* A parsed value, written back (deeper than the writer allows: -E2BIG). */
void jw_value(struct json_writer *w, const struct json *v);
/* A value that is JSON text already (another writer's output), as is. */
void jw_verbatim(struct json_writer *w, const char *json);
/* Bytes outside the JSON structure (a line end between messages). */
void jw_raw(struct json_writer *w, const char *s);

#endif
