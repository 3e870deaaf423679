/*
 * hex_file.c
 *	  Read a test vector's .hex file into an exact-size buffer.
 */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>

static int
hex_nibble(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

uint8_t *
read_hex_file(const char *path, size_t *len, const char **error)
{
	FILE	   *f = fopen(path, "r");
	size_t		cap = 4096;
	size_t		n = 0;
	uint8_t    *tmp;
	uint8_t    *out;
	int			c;
	int			high = -1;
	bool		line_start = true;

	if (f == NULL)
	{
		*error = "cannot open";
		return NULL;
	}
	tmp = malloc(cap);
	while ((c = fgetc(f)) != EOF)
	{
		int			v;

		if (line_start && c == '#')
		{
			while ((c = fgetc(f)) != EOF && c != '\n')
				;
			continue;
		}
		line_start = (c == '\n');
		if (c == ' ' || c == '\t' || c == '\r' || c == '\n')
			continue;
		if ((v = hex_nibble(c)) < 0)
		{
			*error = "not a hex digit";
			free(tmp);
			fclose(f);
			return NULL;
		}
		if (high < 0)
		{
			high = v;
			continue;
		}
		if (n == cap)
			tmp = realloc(tmp, cap *= 2);
		tmp[n++] = (uint8_t) (high << 4 | v);
		high = -1;
	}
	fclose(f);
	if (high >= 0)
	{
		*error = "odd number of hex digits";
		free(tmp);
		return NULL;
	}

	/* Exact size, so that a read past the end is caught. */
	out = malloc(n > 0 ? n : 1);
	for (size_t i = 0; i < n; i++)
		out[i] = tmp[i];
	free(tmp);
	*len = n;
	return out;
}
