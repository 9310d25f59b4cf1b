/* JSON parser and writer (RFC 8259); see json.h for what each promises. */
#include "json.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- parser ------------------------------------------------------------ */

struct parser {
	const unsigned char *p, *end, *start;
	unsigned depth, max_depth;
	int err;
	char *msg;
	size_t msg_size;
};

static void fail(struct parser *ps, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void fail(struct parser *ps, int err, const char *fmt, ...)
{
	char why[160];
	va_list ap;

	if (ps->err)
		return;   /* the first error is the one worth reporting */
	ps->err = err;
	if (!ps->msg || !ps->msg_size)
		return;
	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	snprintf(ps->msg, ps->msg_size, "%s at byte %zu", why, (size_t)(ps->p - ps->start));
}

static void skip_ws(struct parser *ps)
{
	/* RFC 8259 section 2: only these four are whitespace. */
	while (ps->p < ps->end && (*ps->p == ' ' || *ps->p == '\t' || *ps->p == '\n' || *ps->p == '\r'))
		ps->p++;
}

static struct json *new_value(struct parser *ps, enum json_type t)
{
	struct json *v = calloc(1, sizeof(*v));

	if (!v)
		fail(ps, -ENOMEM, "out of memory");
	else
		v->type = t;
	return v;
}

void json_free(struct json *v)
{
	if (!v)
		return;
	for (size_t k = 0; v->type == JSON_ARRAY && k < v->n; k++)
		json_free(v->item[k]);
	for (size_t k = 0; v->type == JSON_OBJECT && k < v->n; k++) {
		free(v->member[k].key);
		json_free(v->member[k].value);
	}
	free(v->item);
	free(v->member);
	free(v->str);
	free(v);
}

static bool literal(struct parser *ps, const char *word)
{
	size_t n = strlen(word);

	if ((size_t)(ps->end - ps->p) < n || memcmp(ps->p, word, n))
		return false;
	ps->p += n;
	return true;
}

static int hex4(const unsigned char *p)
{
	int v = 0;

	for (int k = 0; k < 4; k++) {
		int c = p[k], d;
		if (c >= '0' && c <= '9')
			d = c - '0';
		else if (c >= 'a' && c <= 'f')
			d = c - 'a' + 10;
		else if (c >= 'A' && c <= 'F')
			d = c - 'A' + 10;
		else
			return -1;
		v = v << 4 | d;
	}
	return v;
}

/* Length of the well-formed UTF-8 sequence at p (RFC 3629 section 4: no
 * overlong forms, no surrogates, nothing past U+10FFFF), or 0. */
static size_t utf8_len(const unsigned char *p, const unsigned char *end)
{
	size_t avail = (size_t)(end - p);
	unsigned c = p[0];

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		return avail >= 2 && (p[1] & 0xc0) == 0x80 ? 2 : 0;
	if (c >= 0xe0 && c <= 0xef) {
		unsigned lo = c == 0xe0 ? 0xa0 : 0x80, hi = c == 0xed ? 0x9f : 0xbf;
		return avail >= 3 && p[1] >= lo && p[1] <= hi && (p[2] & 0xc0) == 0x80 ? 3 : 0;
	}
	if (c >= 0xf0 && c <= 0xf4) {
		unsigned lo = c == 0xf0 ? 0x90 : 0x80, hi = c == 0xf4 ? 0x8f : 0xbf;
		return avail >= 4 && p[1] >= lo && p[1] <= hi && (p[2] & 0xc0) == 0x80 &&
		       (p[3] & 0xc0) == 0x80 ? 4 : 0;
	}
	return 0;
}

static size_t put_utf8(char *o, unsigned cp)
{
	if (cp < 0x80) {
		o[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		o[0] = (char)(0xc0 | cp >> 6);
		o[1] = (char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		o[0] = (char)(0xe0 | cp >> 12);
		o[1] = (char)(0x80 | (cp >> 6 & 0x3f));
		o[2] = (char)(0x80 | (cp & 0x3f));
		return 3;
	}
	o[0] = (char)(0xf0 | cp >> 18);
	o[1] = (char)(0x80 | (cp >> 12 & 0x3f));
	o[2] = (char)(0x80 | (cp >> 6 & 0x3f));
	o[3] = (char)(0x80 | (cp & 0x3f));
	return 4;
}

/* A string after its opening quote. The decoded text is never longer than
 * its source (an escape of 6 or 12 bytes yields at most 4), so one
 * allocation of the source's length is enough. */
static int parse_string(struct parser *ps, char **out, size_t *out_len)
{
	const unsigned char *q = ps->p;
	char *buf, *o;

	while (q < ps->end && *q != '"') {
		if (*q == '\\' && q + 1 < ps->end)
			q++;
		q++;
	}
	if (q >= ps->end) {
		fail(ps, -EINVAL, "unterminated string");
		return ps->err;
	}
	buf = malloc((size_t)(q - ps->p) + 1);
	if (!buf) {
		fail(ps, -ENOMEM, "out of memory");
		return ps->err;
	}
	o = buf;
	while (*ps->p != '"') {
		unsigned c = *ps->p;
		if (c < 0x20) {
			fail(ps, -EINVAL, "control character %#x in a string", c);
			goto bad;
		}
		if (c != '\\') {
			size_t n = utf8_len(ps->p, ps->end);
			if (!n) {
				fail(ps, -EINVAL, "invalid UTF-8 in a string");
				goto bad;
			}
			memcpy(o, ps->p, n);
			o += n;
			ps->p += n;
			continue;
		}
		ps->p++;
		switch (*ps->p) {
		case '"': *o++ = '"'; break;
		case '\\': *o++ = '\\'; break;
		case '/': *o++ = '/'; break;
		case 'b': *o++ = '\b'; break;
		case 'f': *o++ = '\f'; break;
		case 'n': *o++ = '\n'; break;
		case 'r': *o++ = '\r'; break;
		case 't': *o++ = '\t'; break;
		case 'u': {
			int cp = ps->end - ps->p >= 5 ? hex4(ps->p + 1) : -1;
			if (cp < 0) {
				fail(ps, -EINVAL, "bad \\u escape");
				goto bad;
			}
			ps->p += 4;
			/* RFC 8259 section 7: a character outside the BMP is a
			 * UTF-16 surrogate pair; a lone half is no character. */
			if (cp >= 0xdc00 && cp <= 0xdfff) {
				fail(ps, -EINVAL, "lone low surrogate \\u%04x", (unsigned)cp);
				goto bad;
			}
			if (cp >= 0xd800 && cp <= 0xdbff) {
				int lo = ps->end - ps->p >= 7 && ps->p[1] == '\\' && ps->p[2] == 'u'
						 ? hex4(ps->p + 3) : -1;
				if (lo < 0xdc00 || lo > 0xdfff) {
					fail(ps, -EINVAL, "high surrogate \\u%04x without its low half",
					     (unsigned)cp);
					goto bad;
				}
				ps->p += 6;
				cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
			}
			o += put_utf8(o, (unsigned)cp);
			break;
		}
		default:
			fail(ps, -EINVAL, "bad escape in a string");
			goto bad;
		}
		ps->p++;
	}
	ps->p++;   /* the closing quote */
	*o = 0;
	*out = buf;
	*out_len = (size_t)(o - buf);
	return 0;
bad:
	free(buf);
	return ps->err;
}

static bool is_digit(const unsigned char *p, const unsigned char *end)
{
	return p < end && *p >= '0' && *p <= '9';
}

/* RFC 8259 section 6: -? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)? */
static struct json *parse_number(struct parser *ps)
{
	const unsigned char *s = ps->p, *p = ps->p;
	bool integral = true, neg = false;
	uint64_t mag = 0;
	bool overflow = false;
	struct json *v;

	if (*p == '-') {
		neg = true;
		p++;
	}
	if (!is_digit(p, ps->end)) {
		ps->p = p;
		fail(ps, -EINVAL, "bad number");
		return NULL;
	}
	if (*p == '0') {
		p++;
		if (is_digit(p, ps->end)) {
			ps->p = p;
			fail(ps, -EINVAL, "number with a leading zero");
			return NULL;
		}
	} else {
		for (; is_digit(p, ps->end); p++) {
			unsigned d = *p - '0';
			if (mag > (UINT64_MAX - d) / 10)
				overflow = true;
			else
				mag = mag * 10 + d;
		}
	}
	if (p < ps->end && *p == '.') {
		integral = false;
		p++;
		if (!is_digit(p, ps->end)) {
			ps->p = p;
			fail(ps, -EINVAL, "no digit after the decimal point");
			return NULL;
		}
		while (is_digit(p, ps->end))
			p++;
	}
	if (p < ps->end && (*p == 'e' || *p == 'E')) {
		integral = false;
		p++;
		if (p < ps->end && (*p == '+' || *p == '-'))
			p++;
		if (!is_digit(p, ps->end)) {
			ps->p = p;
			fail(ps, -EINVAL, "no digit in the exponent");
			return NULL;
		}
		while (is_digit(p, ps->end))
			p++;
	}
	ps->p = p;
	if (integral && !overflow &&
	    (neg ? mag <= (uint64_t)INT64_MAX + 1 : mag <= (uint64_t)INT64_MAX)) {
		if (!(v = new_value(ps, JSON_INT)))
			return NULL;
		v->i = neg ? (int64_t)(0 - mag) : (int64_t)mag;
		return v;
	}
	/* strtod needs a terminated copy: the input need not be terminated. */
	{
		size_t n = (size_t)(p - s);
		char small[64], *txt = n < sizeof(small) ? small : malloc(n + 1);
		double d;
		if (!txt) {
			fail(ps, -ENOMEM, "out of memory");
			return NULL;
		}
		memcpy(txt, s, n);
		txt[n] = 0;
		d = strtod(txt, NULL);
		if (txt != small)
			free(txt);
		if (!isfinite(d)) {
			ps->p = s;
			fail(ps, -EINVAL, "number out of range");
			return NULL;
		}
		if (!(v = new_value(ps, JSON_DOUBLE)))
			return NULL;
		v->d = d;
		return v;
	}
}

static struct json *parse_value(struct parser *ps);

static bool grow(struct parser *ps, void **arr, size_t *cap, size_t n, size_t elem)
{
	void *a;

	if (n < *cap)
		return true;
	*cap = *cap ? *cap * 2 : 4;
	a = realloc(*arr, *cap * elem);
	if (!a) {
		fail(ps, -ENOMEM, "out of memory");
		return false;
	}
	*arr = a;
	return true;
}

static struct json *parse_array(struct parser *ps, struct json *v)
{
	size_t cap = 0;

	skip_ws(ps);
	if (ps->p < ps->end && *ps->p == ']') {
		ps->p++;
		return v;
	}
	for (;;) {
		struct json *item = parse_value(ps);
		if (!item)
			return NULL;
		if (!grow(ps, (void **)&v->item, &cap, v->n, sizeof(*v->item))) {
			json_free(item);
			return NULL;
		}
		v->item[v->n++] = item;
		skip_ws(ps);
		if (ps->p < ps->end && *ps->p == ',') {
			ps->p++;
			continue;
		}
		if (ps->p < ps->end && *ps->p == ']') {
			ps->p++;
			return v;
		}
		fail(ps, -EINVAL, ps->p < ps->end ? "expected ',' or ']'" : "unterminated array");
		return NULL;
	}
}

static struct json *parse_object(struct parser *ps, struct json *v)
{
	size_t cap = 0;

	skip_ws(ps);
	if (ps->p < ps->end && *ps->p == '}') {
		ps->p++;
		return v;
	}
	for (;;) {
		struct json_member m = { 0 };

		skip_ws(ps);
		if (ps->p >= ps->end || *ps->p != '"') {
			fail(ps, -EINVAL, ps->p < ps->end ? "expected a member name in quotes"
							  : "unterminated object");
			return NULL;
		}
		ps->p++;
		if (parse_string(ps, &m.key, &m.key_len))
			return NULL;
		/* RFC 8259 section 4 leaves duplicate names undefined; QEMU
		 * refuses them, and so do we rather than guess which one counts. */
		for (size_t k = 0; k < v->n; k++) {
			if (v->member[k].key_len == m.key_len &&
			    !memcmp(v->member[k].key, m.key, m.key_len)) {
				fail(ps, -EINVAL, "duplicate member name");
				free(m.key);
				return NULL;
			}
		}
		skip_ws(ps);
		if (ps->p >= ps->end || *ps->p != ':') {
			fail(ps, -EINVAL, ps->p < ps->end ? "expected ':'" : "unterminated object");
			free(m.key);
			return NULL;
		}
		ps->p++;
		if (!(m.value = parse_value(ps)) ||
		    !grow(ps, (void **)&v->member, &cap, v->n, sizeof(*v->member))) {
			free(m.key);
			json_free(m.value);
			return NULL;
		}
		v->member[v->n++] = m;
		skip_ws(ps);
		if (ps->p < ps->end && *ps->p == ',') {
			ps->p++;
			continue;
		}
		if (ps->p < ps->end && *ps->p == '}') {
			ps->p++;
			return v;
		}
		fail(ps, -EINVAL, ps->p < ps->end ? "expected ',' or '}'" : "unterminated object");
		return NULL;
	}
}

static struct json *parse_value(struct parser *ps)
{
	struct json *v, *r;

	skip_ws(ps);
	if (ps->p >= ps->end) {
		fail(ps, -EINVAL, "unexpected end of input");
		return NULL;
	}
	switch (*ps->p) {
	case '{':
	case '[':
		/* Recursion is bounded here, so hostile nesting costs no stack. */
		if (ps->depth >= ps->max_depth) {
			fail(ps, -E2BIG, "nested deeper than %u", ps->max_depth);
			return NULL;
		}
		if (!(v = new_value(ps, *ps->p == '{' ? JSON_OBJECT : JSON_ARRAY)))
			return NULL;
		ps->p++;
		ps->depth++;
		r = v->type == JSON_OBJECT ? parse_object(ps, v) : parse_array(ps, v);
		ps->depth--;
		if (!r)
			json_free(v);
		return r;
	case '"':
		if (!(v = new_value(ps, JSON_STRING)))
			return NULL;
		ps->p++;
		if (parse_string(ps, &v->str, &v->len)) {
			json_free(v);
			return NULL;
		}
		return v;
	case 't':
	case 'f':
	case 'n':
		if (literal(ps, "true") || literal(ps, "false")) {
			if ((v = new_value(ps, JSON_BOOL)))
				v->b = ps->p[-4] == 't';   /* "true" or "alse" */
			return v;
		}
		if (literal(ps, "null"))
			return new_value(ps, JSON_NULL);
		break;
	default:
		if (*ps->p == '-' || (*ps->p >= '0' && *ps->p <= '9'))
			return parse_number(ps);
	}
	fail(ps, -EINVAL, "unexpected character '%c'",
	     *ps->p >= 0x20 && *ps->p < 0x7f ? *ps->p : '?');
	return NULL;
}

int json_parse(const char *text, size_t len, const struct json_limits *limits,
	       struct json **out, char *err, size_t err_size)
{
	struct parser ps = {
		.p = (const unsigned char *)text,
		.start = (const unsigned char *)text,
		.end = (const unsigned char *)text + len,
		.max_depth = limits ? limits->depth : JSON_DEFAULT_DEPTH,
		.msg = err,
		.msg_size = err_size,
	};
	size_t max_size = limits ? limits->size : JSON_DEFAULT_SIZE;
	struct json *v;

	*out = NULL;
	if (err && err_size)
		err[0] = 0;
	if (len > max_size) {
		fail(&ps, -E2BIG, "input longer than %zu bytes", max_size);
		return ps.err;
	}
	v = parse_value(&ps);
	if (v) {
		skip_ws(&ps);
		if (ps.p < ps.end)
			fail(&ps, -EINVAL, "trailing characters after the value");
	}
	if (ps.err) {
		json_free(v);
		return ps.err;
	}
	*out = v;
	return 0;
}

const struct json *json_get(const struct json *v, const char *key)
{
	size_t n = strlen(key);

	if (!v || v->type != JSON_OBJECT)
		return NULL;
	for (size_t k = 0; k < v->n; k++)
		if (v->member[k].key_len == n && !memcmp(v->member[k].key, key, n))
			return v->member[k].value;
	return NULL;
}

const char *json_type_name(enum json_type t)
{
	switch (t) {
	case JSON_NULL: return "null";
	case JSON_BOOL: return "boolean";
	case JSON_INT: return "integer";
	case JSON_DOUBLE: return "number";
	case JSON_STRING: return "string";
	case JSON_ARRAY: return "array";
	case JSON_OBJECT: return "object";
	}
	return "?";
}

/* ---- writer ------------------------------------------------------------ */

void jw_init(struct json_writer *w)
{
	memset(w, 0, sizeof(*w));
}

void jw_free(struct json_writer *w)
{
	free(w->buf);
	jw_init(w);
}

const char *jw_text(const struct json_writer *w)
{
	if (w->err)
		return NULL;
	return w->len ? w->buf : "";
}

static void put(struct json_writer *w, const char *s, size_t n)
{
	if (w->err)
		return;
	if (n >= w->cap - w->len || !w->buf) {
		size_t cap = w->cap ? w->cap : 256;
		char *b;
		while (cap - w->len <= n) {
			if (cap > SIZE_MAX / 2) {
				w->err = -ENOMEM;
				return;
			}
			cap *= 2;
		}
		if (!(b = realloc(w->buf, cap))) {
			w->err = -ENOMEM;
			return;
		}
		w->buf = b;
		w->cap = cap;
	}
	memcpy(w->buf + w->len, s, n);
	w->len += n;
	w->buf[w->len] = 0;
}

static void puts_(struct json_writer *w, const char *s)
{
	put(w, s, strlen(s));
}

/* Before any value: the separator its position needs. */
static void before_value(struct json_writer *w)
{
	if (w->after_key) {
		w->after_key = false;
		return;
	}
	if (w->need_comma[w->depth])
		puts_(w, ", ");
	w->need_comma[w->depth] = true;
}

void jw_raw(struct json_writer *w, const char *s)
{
	puts_(w, s);
}

void jw_verbatim(struct json_writer *w, const char *json)
{
	before_value(w);
	puts_(w, json);
}

static void open_(struct json_writer *w, const char *c)
{
	before_value(w);
	if (w->depth >= JSON_WRITER_DEPTH) {
		if (!w->err)
			w->err = -E2BIG;
		return;
	}
	puts_(w, c);
	w->need_comma[++w->depth] = false;
}

static void close_(struct json_writer *w, const char *c)
{
	if (w->depth == 0 || w->after_key) {
		if (!w->err)
			w->err = -EINVAL;
		return;
	}
	w->depth--;
	puts_(w, c);
}

void jw_object_begin(struct json_writer *w) { open_(w, "{"); }
void jw_object_end(struct json_writer *w) { close_(w, "}"); }
void jw_array_begin(struct json_writer *w) { open_(w, "["); }
void jw_array_end(struct json_writer *w) { close_(w, "]"); }

static void put_escaped(struct json_writer *w, const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s, *end = p + len;

	put(w, "\"", 1);
	while (p < end) {
		const unsigned char *run = p;
		char esc[8];
		size_t n;

		/* Copy plain runs in one go. */
		while (p < end && *p >= 0x20 && *p < 0x7f && *p != '"' && *p != '\\')
			p++;
		put(w, (const char *)run, (size_t)(p - run));
		if (p >= end)
			break;
		switch (*p) {
		case '"': puts_(w, "\\\""); p++; continue;
		case '\\': puts_(w, "\\\\"); p++; continue;
		case '\b': puts_(w, "\\b"); p++; continue;
		case '\f': puts_(w, "\\f"); p++; continue;
		case '\n': puts_(w, "\\n"); p++; continue;
		case '\r': puts_(w, "\\r"); p++; continue;
		case '\t': puts_(w, "\\t"); p++; continue;
		}
		if (*p < 0x20 || *p == 0x7f) {
			/* RFC 8259 section 7: control characters must be escaped;
			 * DEL too, so a terminal reading the output sees no raw one. */
			snprintf(esc, sizeof(esc), "\\u%04x", *p);
			puts_(w, esc);
			p++;
			continue;
		}
		n = utf8_len(p, end);
		if (n) {
			put(w, (const char *)p, n);
			p += n;
		} else {
			puts_(w, "\\ufffd");   /* not UTF-8: the replacement character */
			p++;
		}
	}
	put(w, "\"", 1);
}

void jw_key(struct json_writer *w, const char *key)
{
	if (w->depth == 0 || w->after_key) {
		if (!w->err)
			w->err = -EINVAL;
		return;
	}
	before_value(w);
	put_escaped(w, key, strlen(key));
	puts_(w, ": ");
	w->after_key = true;
}

void jw_string_len(struct json_writer *w, const char *s, size_t len)
{
	before_value(w);
	put_escaped(w, s, len);
}

void jw_string(struct json_writer *w, const char *s)
{
	jw_string_len(w, s, strlen(s));
}

void jw_int(struct json_writer *w, int64_t v)
{
	char b[24];

	before_value(w);
	snprintf(b, sizeof(b), "%lld", (long long)v);
	puts_(w, b);
}

void jw_uint(struct json_writer *w, uint64_t v)
{
	char b[24];

	before_value(w);
	snprintf(b, sizeof(b), "%llu", (unsigned long long)v);
	puts_(w, b);
}

void jw_double(struct json_writer *w, double v)
{
	char b[40];

	if (!isfinite(v)) {
		jw_null(w);   /* JSON has no NaN or infinity */
		return;
	}
	before_value(w);
	/* The shortest form that reads back as the same double (17
	 * significant digits always do). */
	for (int digits = 15; digits <= 17; digits++) {
		snprintf(b, sizeof(b), "%.*g", digits, v);
		if (strtod(b, NULL) == v)
			break;
	}
	puts_(w, b);
}

void jw_bool(struct json_writer *w, bool v)
{
	before_value(w);
	puts_(w, v ? "true" : "false");
}

void jw_null(struct json_writer *w)
{
	before_value(w);
	puts_(w, "null");
}

void jw_value(struct json_writer *w, const struct json *v)
{
	switch (v->type) {
	case JSON_NULL: jw_null(w); return;
	case JSON_BOOL: jw_bool(w, v->b); return;
	case JSON_INT: jw_int(w, v->i); return;
	case JSON_DOUBLE: jw_double(w, v->d); return;
	case JSON_STRING: jw_string_len(w, v->str, v->len); return;
	case JSON_ARRAY:
		jw_array_begin(w);
		for (size_t k = 0; k < v->n && !w->err; k++)
			jw_value(w, v->item[k]);
		jw_array_end(w);
		return;
	case JSON_OBJECT:
		jw_object_begin(w);
		for (size_t k = 0; k < v->n && !w->err; k++) {
			/* A key may hold \u0000: write it with its length. */
			before_value(w);
			put_escaped(w, v->member[k].key, v->member[k].key_len);
			puts_(w, ": ");
			w->after_key = true;
			jw_value(w, v->member[k].value);
		}
		jw_object_end(w);
		return;
	}
}
