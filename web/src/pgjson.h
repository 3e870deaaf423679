/*
 * pgjson.h
 *	  PostgreSQL result values as JSON values, chosen by column type.
 *
 * Numbers stay numbers (NaN and infinities become null), timestamps become
 * ISO 8601 text in UTC ("2024-05-01T12:00:00.5Z"), intervals become seconds,
 * json stays json, and everything else is an escaped string (pgvalue.h
 * reads the text forms).
 */
#ifndef MNEMIC_WEB_PGJSON_H
#define MNEMIC_WEB_PGJSON_H

#include <libpq-fe.h>

#include "json_writer.h"

/* One field of a text-format result. */
extern void pgjson_value(JsonWriter *w, const PGresult *res, int row, int col);

/* A row as an object keyed by column name, leaving out column skip (-1: none). */
extern void pgjson_row_object(JsonWriter *w, const PGresult *res, int row,
							  int skip);

#endif							/* MNEMIC_WEB_PGJSON_H */
