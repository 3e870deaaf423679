/*
 * run_changes.h
 *	  What changed in the listing since a moment: change cursors and the
 *	  time a run stops being active (run_changes.c).
 *
 * A change cursor names a moment as the oldest transaction still running
 * then (the xmin of the reader's snapshot) and the reader's now().  A run
 * changed after it if the transaction that last wrote it (run.changed) is
 * not older than that xmin -- every transaction that committed later was
 * still running or not yet started then -- or if it stopped being active
 * in between (run.ended NULL and active_until in [then, now())), which no
 * write marks.  Runs written by transactions that were running at the
 * moment but committed before it may be reported twice; none is missed.
 */
#ifndef MNEMIC_RUN_CHANGES_H
#define MNEMIC_RUN_CHANGES_H

#include "postgres.h"

#include "access/transam.h"
#include "datatype/timestamp.h"

typedef struct ChangeCursor
{
	FullTransactionId xmin;		/* oldest transaction running then */
	TimestampTz taken;			/* the reader's now() then */
} ChangeCursor;

/* The cursor a text from mnemic.change_cursor() names; an error if none. */
extern void ChangeCursorParse(const char *text, ChangeCursor *cursor);

/* The SQL for a run r's active_until (the expression run_active_until indexes). */
#define RUN_ACTIVE_UNTIL_SQL "mnemic.active_until(r.last_seen, r.period)"

/* A run r's state: 'ended', 'active' or 'silent' (sql/listing.sql). */
#define RUN_STATE_SQL \
	"CASE WHEN r.ended IS NOT NULL THEN 'ended'" \
	" WHEN " RUN_ACTIVE_UNTIL_SQL " >= now() THEN 'active' ELSE 'silent' END"

#endif							/* MNEMIC_RUN_CHANGES_H */
