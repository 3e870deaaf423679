/*
 * dump.c
 *	  The canonical text of a decode result, compared with the golden files
 *	  in regress/decoder/expected/ (written by docs/vectors/make_vectors.py
 *	  from the vectors' structured descriptions).
 */
#include "testutil.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

typedef struct TextBuf
{
	char	   *data;
	size_t		len;
	size_t		cap;
} TextBuf;

static void
tb_printf(TextBuf *t, const char *fmt,...)
{
	va_list		ap;
	int			n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (t->len + n + 1 > t->cap)
	{
		t->cap = (t->len + n + 1) * 2;
		t->data = realloc(t->data, t->cap);
	}
	va_start(ap, fmt);
	vsnprintf(t->data + t->len, t->cap - t->len, fmt, ap);
	va_end(ap);
	t->len += n;
}

/* Printable ASCII as is, every other byte (and " and \) as \xNN. */
static void
tb_string(TextBuf *t, DgString s)
{
	tb_printf(t, "\"");
	for (uint32_t i = 0; i < s.len; i++)
	{
		unsigned char c = (unsigned char) s.ptr[i];

		if (c >= 0x20 && c < 0x7F && c != '"' && c != '\\')
			tb_printf(t, "%c", c);
		else
			tb_printf(t, "\\x%02x", c);
	}
	tb_printf(t, "\"");
}

/* %.17g round-trips every double; NaN of either sign prints as nan. */
static void
tb_double(TextBuf *t, double v)
{
	if (isnan(v))
		tb_printf(t, "nan");
	else
		tb_printf(t, "%.17g", v);
}

static void
dump_describe(TextBuf *t, const DgDescribe *d)
{
	tb_printf(t, "describe start_us=%lld pid=%u period_us=%u metric_total=%u "
			  "first_metric=%u metric_count=%u\n",
			  (long long) d->start_us, d->pid, d->period_us,
			  d->metric_total, d->first_metric, d->metric_count);
	tb_printf(t, " tracer ");
	tb_string(t, d->tracer);
	tb_printf(t, "\n host ");
	tb_string(t, d->host);
	tb_printf(t, "\n program ");
	tb_string(t, d->program);
	tb_printf(t, "\n python_version ");
	tb_string(t, d->python_version);
	tb_printf(t, "\n");
	for (int i = 0; i < d->metric_count; i++)
	{
		tb_printf(t, " metric %d ", d->first_metric + i);
		tb_string(t, d->metrics[i]);
		tb_printf(t, "\n");
	}
}

static void
dump_ticks(TextBuf *t, const DgTicks *k)
{
	tb_printf(t, "ticks first_metric=%u value_count=%u tick_count=%u\n",
			  k->first_metric, k->value_count, k->tick_count);
	for (int i = 0; i < k->tick_count; i++)
	{
		tb_printf(t, " tick %lld", (long long) k->ts_us[i]);
		for (int v = 0; v < k->value_count; v++)
		{
			tb_printf(t, " ");
			tb_double(t, k->values[(size_t) i * k->value_count + v]);
		}
		tb_printf(t, "\n");
	}
}

static const char *const profile_kind_names[] = {
	"frames", "stacks", "threads", "stack_samples", "alloc_types", "allocs",
	"frees"
};

static void
dump_profile(TextBuf *t, DgKind kind, const DgProfile *p)
{
	tb_printf(t, "%s", profile_kind_names[kind - DG_FRAMES]);
	if (kind == DG_STACK_SAMPLES || kind == DG_ALLOCS)
		tb_printf(t, " thread=%u", p->thread);
	tb_printf(t, " count=%u\n", p->count);
	for (uint32_t i = 0; i < p->count; i++)
	{
		switch (kind)
		{
			case DG_FRAMES:
				tb_printf(t, " frame %u first_line=%u kind=%u ",
						  p->e.frames[i].id, p->e.frames[i].first_line,
						  p->e.frames[i].kind);
				tb_string(t, p->e.frames[i].function);
				tb_printf(t, " ");
				tb_string(t, p->e.frames[i].file);
				break;
			case DG_STACKS:
				tb_printf(t, " stack %u parent=%u frame=%u line=%u",
						  p->e.stacks[i].id, p->e.stacks[i].parent,
						  p->e.stacks[i].frame, p->e.stacks[i].line);
				break;
			case DG_THREADS:
				tb_printf(t, " thread %u native_id=%llu ", p->e.threads[i].id,
						  (unsigned long long) p->e.threads[i].native_id);
				tb_string(t, p->e.threads[i].name);
				break;
			case DG_STACK_SAMPLES:
				tb_printf(t, " sample %lld stack=%u weight_us=%u flags=%u rss=%llu",
						  (long long) p->e.samples[i].ts_us,
						  p->e.samples[i].stack, p->e.samples[i].weight_us,
						  p->e.samples[i].flags,
						  (unsigned long long) p->e.samples[i].rss_bytes);
				break;
			case DG_ALLOC_TYPES:
				tb_printf(t, " type %u ", p->e.types[i].id);
				tb_string(t, p->e.types[i].name);
				break;
			case DG_ALLOCS:
				tb_printf(t, " alloc %lld stack=%u type=%u bytes=%llu id=%llu",
						  (long long) p->e.allocs[i].ts_us,
						  p->e.allocs[i].stack, p->e.allocs[i].type,
						  (unsigned long long) p->e.allocs[i].bytes,
						  (unsigned long long) p->e.allocs[i].alloc_id);
				break;
			case DG_FREES:
				tb_printf(t, " free %lld id=%llu",
						  (long long) p->e.frees[i].ts_us,
						  (unsigned long long) p->e.frees[i].alloc_id);
				break;
			default:
				break;
		}
		tb_printf(t, "\n");
	}
}

static void
dump_message(TextBuf *t, const DgMessage *m)
{
	switch (m->kind)
	{
		case DG_DESCRIBE:
			dump_describe(t, &m->u.describe);
			break;
		case DG_TICKS:
			dump_ticks(t, &m->u.ticks);
			break;
		case DG_END:
			tb_printf(t, "end end_us=%lld\n", (long long) m->u.end_us);
			break;
		case DG_LEGACY_HEADER:
			tb_printf(t, "legacy_header app_name ");
			tb_string(t, m->u.legacy_header.app_name);
			tb_printf(t, " column_count=%u\n", m->u.legacy_header.column_count);
			for (uint32_t i = 0; i < m->u.legacy_header.column_count; i++)
			{
				tb_printf(t, " column %u ", i);
				tb_string(t, m->u.legacy_header.columns[i]);
				tb_printf(t, "\n");
			}
			break;
		case DG_LEGACY_ROW:
			tb_printf(t, "legacy_row value_count=%u\n",
					  m->u.legacy_row.value_count);
			for (uint32_t i = 0; i < m->u.legacy_row.value_count; i++)
			{
				tb_printf(t, " value %u ", i);
				if (m->u.legacy_row.isnull[i])
					tb_printf(t, "null");
				else
					tb_double(t, m->u.legacy_row.values[i]);
				tb_printf(t, "\n");
			}
			break;
		case DG_FRAMES:
		case DG_STACKS:
		case DG_THREADS:
		case DG_STACK_SAMPLES:
		case DG_ALLOC_TYPES:
		case DG_ALLOCS:
		case DG_FREES:
			dump_profile(t, m->kind, &m->u.profile);
			break;
		default:
			tb_printf(t, "kind %d?\n", (int) m->kind);
	}
}

char *
dump_decode_result(DecodeResult r, const DecodedDatagram *dg)
{
	TextBuf		t = {NULL, 0, 0};
	const uint8_t *u = dg->run;

	tb_printf(&t, "result %s\n", decode_reason_name(r));
	if (r != DECODE_OK)
		return t.data;

	tb_printf(&t, "format %s\n", dg->format == DG_FORMAT_V1 ? "v1" : "json");
	tb_printf(&t, "run %02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-"
			  "%02x%02x%02x%02x%02x%02x\n",
			  u[0], u[1], u[2], u[3], u[4], u[5], u[6], u[7],
			  u[8], u[9], u[10], u[11], u[12], u[13], u[14], u[15]);
	if (dg->has_seq)
		tb_printf(&t, "seq %u\n", dg->seq);
	else
		tb_printf(&t, "seq none\n");
	if (dg->has_auth)
		tb_printf(&t, "auth key_id=%u\n", dg->auth_key_id);
	else
		tb_printf(&t, "auth none\n");
	tb_printf(&t, "unknown_kinds %u\n", dg->unknown_kinds);
	tb_printf(&t, "messages %u\n", dg->message_count);
	for (uint32_t i = 0; i < dg->message_count; i++)
		dump_message(&t, &dg->messages[i]);
	return t.data;
}
