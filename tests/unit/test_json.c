/* The JSON parser and writer of the QMP server (src/host/json.c) against
 * RFC 8259: every value kind, escapes, \u with surrogate pairs, numbers at
 * the int64 edges, nesting and size limits, garbage and truncation. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "host/json.h"

#define CHECK_PREFIX "json-"
#include "check.h"

static struct json *parse(const char *s, int *err)
{
	struct json *v = NULL;
	char why[160];

	*err = json_parse(s, strlen(s), NULL, &v, why, sizeof(why));
	if (*err && !why[0])
		*err = -9999;   /* an error must say why */
	return v;
}

/* parse s, then write it back: the text or NULL. */
static char *roundtrip(const char *s)
{
	struct json_writer w;
	struct json *v;
	char *out = NULL;
	int err;

	if (!(v = parse(s, &err)))
		return NULL;
	jw_init(&w);
	jw_value(&w, v);
	if (jw_text(&w))
		out = strdup(jw_text(&w));
	jw_free(&w);
	json_free(v);
	return out;
}

static bool rt_is(const char *in, const char *want)
{
	char *out = roundtrip(in);
	bool ok = out && !strcmp(out, want);

	if (!ok)
		printf("# roundtrip %s gave %s, want %s\n", in, out ? out : "(error)", want);
	free(out);
	return ok;
}

static int err_of(const char *s)
{
	int err;
	struct json *v = parse(s, &err);

	json_free(v);
	return v ? 0 : err;
}

static void test_values(void)
{
	struct json *v;
	int err;

	v = parse(" {\"a\": [1, -2, 3.5, true, false, null, \"x\"], \"b\": {}} ", &err);
	CHECK("object-parsed", v && v->type == JSON_OBJECT && v->n == 2);
	if (v) {
		const struct json *a = json_get(v, "a"), *b = json_get(v, "b");
		CHECK("array-items", a && a->type == JSON_ARRAY && a->n == 7 &&
				     a->item[0]->type == JSON_INT && a->item[0]->i == 1 &&
				     a->item[1]->i == -2 && a->item[2]->type == JSON_DOUBLE &&
				     a->item[2]->d == 3.5 && a->item[3]->type == JSON_BOOL &&
				     a->item[3]->b && !a->item[4]->b &&
				     a->item[5]->type == JSON_NULL &&
				     a->item[6]->type == JSON_STRING && !strcmp(a->item[6]->str, "x"));
		CHECK("empty-object", b && b->type == JSON_OBJECT && b->n == 0);
		CHECK("missing-member", !json_get(v, "c") && !json_get(a, "a"));
	}
	json_free(v);
	CHECK("roundtrip-layout", rt_is("{\"a\":[1,2,{}],\"b\":[]}",
					"{\"a\": [1, 2, {}], \"b\": []}"));
	CHECK("scalars-top-level", rt_is("  7 ", "7") && rt_is("\"s\"", "\"s\"") &&
				   rt_is("null", "null") && rt_is("true", "true"));
}

static void test_numbers(void)
{
	struct json *v;
	int err;

	v = parse("9223372036854775807", &err);
	CHECK("int64-max", v && v->type == JSON_INT && v->i == INT64_MAX);
	json_free(v);
	v = parse("-9223372036854775808", &err);
	CHECK("int64-min", v && v->type == JSON_INT && v->i == INT64_MIN);
	json_free(v);
	v = parse("9223372036854775808", &err);
	CHECK("int64-overflow-is-double", v && v->type == JSON_DOUBLE && v->d == 9223372036854775808.0);
	json_free(v);
	v = parse("123456789012345678901234567890", &err);
	CHECK("huge-integer-is-double", v && v->type == JSON_DOUBLE && v->d > 1.2e29 && v->d < 1.3e29);
	json_free(v);
	v = parse("-0", &err);
	CHECK("minus-zero", v && v->type == JSON_INT && v->i == 0);
	json_free(v);
	v = parse("1e3", &err);
	CHECK("exponent", v && v->type == JSON_DOUBLE && v->d == 1000.0);
	json_free(v);
	v = parse("-2.5E-1", &err);
	CHECK("fraction-exponent", v && v->type == JSON_DOUBLE && v->d == -0.25);
	json_free(v);
	CHECK("leading-zero", err_of("01") == -EINVAL);
	CHECK("leading-plus", err_of("+1") == -EINVAL);
	CHECK("bare-minus", err_of("-") == -EINVAL);
	CHECK("dot-no-digit", err_of("1.") == -EINVAL && err_of(".5") == -EINVAL);
	CHECK("exponent-no-digit", err_of("1e") == -EINVAL && err_of("1e+") == -EINVAL);
	CHECK("out-of-range", err_of("1e999") == -EINVAL);
	CHECK("no-hex-nan-inf", err_of("0x10") == -EINVAL && err_of("NaN") == -EINVAL &&
				err_of("Infinity") == -EINVAL);
	CHECK("double-roundtrip", rt_is("0.1", "0.1") && rt_is("-1.5e300", "-1.5e+300") &&
				   rt_is("0.30000000000000004", "0.30000000000000004"));
}

static void test_strings(void)
{
	struct json *v;
	int err;

	v = parse("\"a\\\"b\\\\c\\/d\\b\\f\\n\\r\\t\"", &err);
	CHECK("escapes", v && v->len == 12 && !memcmp(v->str, "a\"b\\c/d\b\f\n\r\t", 12));
	json_free(v);
	v = parse("\"\\u00e9\\u20AC\"", &err);
	CHECK("u-escape-bmp", v && !strcmp(v->str, "\xc3\xa9\xe2\x82\xac"));
	json_free(v);
	v = parse("\"\\ud83d\\ude00\"", &err);
	CHECK("u-escape-surrogate-pair", v && !strcmp(v->str, "\xf0\x9f\x98\x80"));
	json_free(v);
	v = parse("\"\\udbff\\udfff\"", &err);
	CHECK("u-escape-max", v && !strcmp(v->str, "\xf4\x8f\xbf\xbf"));
	json_free(v);
	v = parse("\"a\\u0000b\"", &err);
	CHECK("u-escape-nul", v && v->len == 3 && !memcmp(v->str, "a\0b", 3));
	json_free(v);
	CHECK("lone-high-surrogate", err_of("\"\\ud800\"") == -EINVAL &&
				     err_of("\"\\ud800x\"") == -EINVAL &&
				     err_of("\"\\ud800\\u0041\"") == -EINVAL);
	CHECK("lone-low-surrogate", err_of("\"\\udc00\"") == -EINVAL);
	CHECK("bad-u-escape", err_of("\"\\u12\"") == -EINVAL && err_of("\"\\u12g4\"") == -EINVAL);
	CHECK("bad-escape", err_of("\"\\x41\"") == -EINVAL && err_of("\"\\'\"") == -EINVAL);
	CHECK("raw-control-char", err_of("\"a\nb\"") == -EINVAL && err_of("\"\t\"") == -EINVAL);
	CHECK("utf8-raw-ok", rt_is("\"\xc3\xa9\xf0\x9f\x98\x80\"", "\"\xc3\xa9\xf0\x9f\x98\x80\""));
	CHECK("utf8-invalid", err_of("\"\xff\"") == -EINVAL && err_of("\"\xc3\"") == -EINVAL &&
			      err_of("\"\xc0\xaf\"") == -EINVAL /* overlong */ &&
			      err_of("\"\xed\xa0\x80\"") == -EINVAL /* encoded surrogate */ &&
			      err_of("\"\xf4\x90\x80\x80\"") == -EINVAL /* past U+10FFFF */);
	CHECK("unterminated-string", err_of("\"abc") == -EINVAL && err_of("\"abc\\\"") == -EINVAL &&
				     err_of("\"\\") == -EINVAL);
	CHECK("key-with-nul", rt_is("{\"a\\u0000\": 1}", "{\"a\\u0000\": 1}"));
}

static void test_writer(void)
{
	struct json_writer w;
	const char raw[] = "q\"b\\s\x01\x1f\x7f\n\xff\xc3\xa9";

	jw_init(&w);
	jw_object_begin(&w);
	jw_key(&w, "k\"");
	jw_string_len(&w, raw, sizeof(raw) - 1);
	jw_key(&w, "n");
	jw_array_begin(&w);
	jw_int(&w, INT64_MIN);
	jw_uint(&w, UINT64_MAX);
	jw_double(&w, 1.0 / 0.0);
	jw_bool(&w, false);
	jw_null(&w);
	jw_array_end(&w);
	jw_object_end(&w);
	CHECK("writer-escapes", jw_text(&w) &&
		!strcmp(jw_text(&w), "{\"k\\\"\": \"q\\\"b\\\\s\\u0001\\u001f\\u007f\\n\\ufffd\xc3\xa9\", "
				     "\"n\": [-9223372036854775808, 18446744073709551615, null, false, null]}"));
	/* What it wrote must parse back to the same bytes (bad UTF-8 aside). */
	if (jw_text(&w)) {
		struct json *v;
		int err;
		v = parse(jw_text(&w), &err);
		CHECK("writer-output-parses", v && json_get(v, "k\"") &&
					      !strcmp(json_get(v, "k\"")->str,
						      "q\"b\\s\x01\x1f\x7f\n\xef\xbf\xbd\xc3\xa9"));
		json_free(v);
	}
	jw_free(&w);

	jw_init(&w);
	jw_object_end(&w);
	CHECK("writer-misuse-close", jw_text(&w) == NULL && w.err == -EINVAL);
	jw_free(&w);
	jw_init(&w);
	jw_array_begin(&w);
	jw_key(&w, "x");
	jw_object_begin(&w);
	jw_key(&w, "a");
	jw_object_end(&w);
	CHECK("writer-misuse-key", jw_text(&w) == NULL && w.err == -EINVAL);
	jw_free(&w);
	jw_init(&w);
	for (int i = 0; i < JSON_WRITER_DEPTH + 1; i++)
		jw_array_begin(&w);
	CHECK("writer-depth", jw_text(&w) == NULL && w.err == -E2BIG);
	jw_free(&w);
}

static void test_limits(void)
{
	char deep[256];
	struct json_limits lim = { 4, 64 };
	struct json *v;
	char why[160];
	int err;

	memset(deep, '[', 33);
	memset(deep + 33, ']', 33);
	deep[66] = 0;
	CHECK("depth-33-refused", err_of(deep) == -E2BIG);
	memset(deep, '[', 32);
	memset(deep + 32, ']', 32);
	deep[64] = 0;
	CHECK("depth-32-ok", err_of(deep) == 0);
	err = json_parse("[[[[1]]]]", 9, &lim, &v, why, sizeof(why));
	CHECK("depth-limit-custom", err == 0 && v);
	json_free(v);
	err = json_parse("[[[[[1]]]]]", 11, &lim, &v, why, sizeof(why));
	CHECK("depth-limit-custom-refused", err == -E2BIG && !v && strstr(why, "deeper"));
	err = json_parse("{\"a\": [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17]}",
			 66, &lim, &v, why, sizeof(why));
	CHECK("size-limit", err == -E2BIG && !v);
	/* A million open brackets must fail fast, not recurse a million deep. */
	{
		size_t n = 1000000;
		char *big = malloc(n);
		if (big) {
			memset(big, '[', n);
			err = json_parse(big, n, NULL, &v, why, sizeof(why));
			CHECK("hostile-nesting", err == -E2BIG && !v);
			memset(big, '{', n);
			err = json_parse(big, n, NULL, &v, why, sizeof(why));
			CHECK("hostile-nesting-objects", err != 0 && !v);
			free(big);
		}
	}
	/* Not NUL-terminated: the parser must stop at len. */
	err = json_parse("12345", 2, NULL, &v, why, sizeof(why));
	CHECK("length-bounded", err == 0 && v && v->type == JSON_INT && v->i == 12);
	json_free(v);
	err = json_parse("1.5e3", 3, NULL, &v, why, sizeof(why));
	CHECK("length-bounded-double", err == 0 && v && v->type == JSON_DOUBLE && v->d == 1.5);
	json_free(v);
}

static void test_garbage(void)
{
	static const char *bad[] = {
		"", "   ", "{", "}", "[", "]", "[1,]", "[,1]", "{\"a\"}", "{\"a\":}", "{\"a\":1,}",
		"{a:1}", "{'a':1}", "[1 2]", "{\"a\":1 \"b\":2}", "tru", "nul", "falsey", "1 2",
		"{}x", "[]]", "\"a\" \"b\"", "{\"a\":1}{", "\x01", "{\"a\":1,\"a\":2}", "[1,2",
		"{\"execute\":", "{\"execute\": \"qmp_capabilities\"",
	};
	bool all = true;

	for (size_t k = 0; k < sizeof(bad) / sizeof(bad[0]); k++) {
		int err = err_of(bad[k]);
		if (err != -EINVAL) {
			printf("# %s gave %d\n", bad[k], err);
			all = false;
		}
	}
	CHECK("garbage-refused", all);

	/* Every prefix of a valid text is refused (truncation), and
	 * every single-byte mutation of it parses or fails cleanly. */
	{
		const char *good = "{\"execute\": \"query-stats\", \"arguments\": {\"target\": "
				   "\"vcpu\", \"x\": [1.5e2, -3, true, null, \"\\ud83d\\ude00\"]}, \"id\": 7}";
		size_t n = strlen(good);
		bool trunc = true;
		struct json *v;
		char why[160];
		for (size_t k = 0; k < n; k++) {
			int err = json_parse(good, k, NULL, &v, why, sizeof(why));
			if (!err) {
				json_free(v);
				trunc = false;
			}
		}
		CHECK("every-truncation-refused", trunc && err_of(good) == 0);
		/* A mutation either fails with a reason, or parses into a tree
		 * that the writer turns into text that parses again. */
		unsigned seed = 1, parsed = 0, bad_outcome = 0;
		char *m = malloc(n);
		for (int round = 0; m && round < 20000; round++) {
			memcpy(m, good, n);
			seed = seed * 1103515245 + 12345;
			m[(seed >> 8) % n] = (char)(seed >> 20);
			why[0] = 0;
			if (!json_parse(m, n, NULL, &v, why, sizeof(why))) {
				struct json_writer w;
				struct json *again = NULL;
				parsed++;
				jw_init(&w);
				jw_value(&w, v);
				if (!jw_text(&w) || json_parse(jw_text(&w), w.len, NULL, &again, why,
							       sizeof(why)))
					bad_outcome++;
				json_free(again);
				jw_free(&w);
				json_free(v);
			} else if (!why[0] || v) {
				bad_outcome++;
			}
		}
		free(m);
		CHECK("mutations-clean", m && bad_outcome == 0 && parsed > 0 && parsed < 20000);
	}
}

int main(void)
{
	test_values();
	test_numbers();
	test_strings();
	test_writer();
	test_limits();
	test_garbage();
	return failures ? 1 : 0;
}
