/*
 * protowire.h
 *	  The protocol buffers wire format, as much of it as pprof's
 *	  profile.proto needs: varints, fields of wire types 0, 1, 2 and 5, and
 *	  packed repeated varints.
 *
 * Why not protobuf-c: it works from code generated out of profile.proto by
 * protoc-c, and we commit neither third-party files nor generated code.
 * profile.proto is five small messages of integers and one table of
 * strings, which these few functions read and write in full; the reader is
 * fuzzed (regress/formats).
 *
 * Plain C, no PostgreSQL headers: the reader is pprof_scan.c's, the
 * writer format_pprof.c's.
 */
#ifndef MNEMIC_PROTOWIRE_H
#define MNEMIC_PROTOWIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PW_VARINT	0
#define PW_I64		1
#define PW_LEN		2
#define PW_I32		5

/* A cursor over a message: bytes [pos, end) of data. */
typedef struct ProtoReader
{
	const uint8_t *data;		/* the whole file, for offsets */
	size_t		pos;
	size_t		end;
} ProtoReader;

/* One field: its number and wire type, and its value. */
typedef struct ProtoField
{
	uint32_t	number;
	int			wire_type;
	size_t		offset;			/* of its key */
	uint64_t	varint;			/* PW_VARINT, PW_I64, PW_I32 */
	size_t		start;			/* PW_LEN: bytes [start, start + len) */
	size_t		len;
} ProtoField;

/* A varint of at most 10 bytes at r->pos; false if cut short or too long. */
static inline bool
pw_read_varint(ProtoReader *r, uint64_t *v)
{
	uint64_t	result = 0;

	for (int shift = 0; shift < 70; shift += 7)
	{
		uint8_t		b;

		if (r->pos >= r->end)
			return false;
		b = r->data[r->pos++];
		if (shift == 63 && b > 1)
			return false;		/* more than 64 bits */
		result |= (uint64_t) (b & 0x7F) << shift;
		if ((b & 0x80) == 0)
		{
			*v = result;
			return true;
		}
	}
	return false;
}

/*
 * The next field of the message; false at its end (*problem NULL) or on a
 * malformed field (*problem says what).
 */
static inline bool
pw_next_field(ProtoReader *r, ProtoField *f, const char **problem)
{
	uint64_t	key;
	uint64_t	len;

	*problem = NULL;
	if (r->pos >= r->end)
		return false;
	f->offset = r->pos;
	if (!pw_read_varint(r, &key))
	{
		*problem = "a field key is cut short";
		return false;
	}
	f->number = (uint32_t) (key >> 3);
	f->wire_type = (int) (key & 7);
	if (key >> 3 == 0 || key >> 3 > 536870911)
	{
		*problem = "a field numbered 0 or above 2^29";
		return false;
	}
	switch (f->wire_type)
	{
		case PW_VARINT:
			if (!pw_read_varint(r, &f->varint))
				*problem = "a varint is cut short or longer than 10 bytes";
			break;
		case PW_I64:
		case PW_I32:
			{
				size_t		n = f->wire_type == PW_I64 ? 8 : 4;

				if (r->end - r->pos < n)
				{
					*problem = "a fixed-size field is cut short";
					break;
				}
				f->varint = 0;
				for (size_t i = 0; i < n; i++)
					f->varint |= (uint64_t) r->data[r->pos + i] << (8 * i);
				r->pos += n;
			}
			break;
		case PW_LEN:
			if (!pw_read_varint(r, &len))
				*problem = "a length is cut short";
			else if (len > r->end - r->pos)
				*problem = "a length runs past the end of its message";
			else
			{
				f->start = r->pos;
				f->len = (size_t) len;
				r->pos += (size_t) len;
			}
			break;
		default:
			*problem = "a field of wire type 3, 4, 6 or 7 (groups are not used by profile.proto)";
			break;
	}
	return *problem == NULL;
}

/* A reader over the bytes of a length-delimited field. */
static inline ProtoReader
pw_sub_reader(const ProtoReader *r, const ProtoField *f)
{
	ProtoReader sub = {r->data, f->start, f->start + f->len};

	return sub;
}

/* Write v as a varint at out (room for 10 bytes); returns the bytes used. */
static inline size_t
pw_put_varint(uint8_t *out, uint64_t v)
{
	size_t		n = 0;

	while (v >= 0x80)
	{
		out[n++] = (uint8_t) (v | 0x80);
		v >>= 7;
	}
	out[n++] = (uint8_t) v;
	return n;
}

#endif							/* MNEMIC_PROTOWIRE_H */
