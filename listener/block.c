/*
 * block.c
 *	  Writing mnemic.block rows as COPY does, and reading them back
 *	  (block.h).
 *
 * The writer finds the columns it fills by name among the table's live
 * ones, so a column added and dropped again (which leaves a dropped
 * attribute behind) changes nothing; a live column it does not write is
 * refused rather than left NULL.
 */
#include "postgres.h"

#include "access/table.h"
#include "access/tableam.h"
#include "access/xact.h"
#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "executor/executor.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"

#include "block.h"
#include "spi_helpers.h"

static const struct
{
	const char *name;
	Oid			type;
}			block_columns[BLOCK_NCOLUMNS] = {
	[BLOCK_METRIC_ID] = {"metric_id", INT4OID},
	[BLOCK_T_FIRST] = {"t_first", TIMESTAMPTZOID},
	[BLOCK_T_LAST] = {"t_last", TIMESTAMPTZOID},
	[BLOCK_N] = {"n", INT4OID},
	[BLOCK_TS] = {"ts", TIMESTAMPTZARRAYOID},
	[BLOCK_VALUE] = {"value", FLOAT8ARRAYOID},
};


ArrayType *
ArrayOfFixed(const void *data, const bool *isnull, int n, Oid elemtype,
			 int elemlen)
{
	const char *src = data;
	int			nvalid = n;
	Size		overhead;
	Size		total;
	ArrayType  *array;

	if (isnull != NULL)
		for (int i = 0; i < n; i++)
			nvalid -= isnull[i];
	overhead = isnull != NULL ? ARR_OVERHEAD_WITHNULLS(1, n) :
		ARR_OVERHEAD_NONULLS(1);
	total = overhead + (Size) nvalid * elemlen;

	array = palloc(total);
	memset(array, 0, overhead);
	SET_VARSIZE(array, total);
	array->ndim = 1;
	array->dataoffset = isnull != NULL ? overhead : 0;
	array->elemtype = elemtype;
	ARR_DIMS(array)[0] = n;
	ARR_LBOUND(array)[0] = 1;

	if (isnull == NULL)
		memcpy(ARR_DATA_PTR(array), src, (Size) n * elemlen);
	else
	{
		bits8	   *bitmap = ARR_NULLBITMAP(array);
		char	   *dst = ARR_DATA_PTR(array);

		for (int i = 0; i < n; i++)
		{
			if (isnull[i])
				continue;
			bitmap[i / 8] |= 1 << (i % 8);
			memcpy(dst, src + (Size) i * elemlen, elemlen);
			dst += elemlen;
		}
	}
	return array;
}

/*
 * Find the writer's columns among mnemic.block's live ones.  Any other live
 * column would be left NULL by the bulk path, whatever its default or
 * constraints say: refuse it rather than write such rows.
 */
static void
writer_map_columns(BlockWriter *w)
{
	TupleDesc	desc = RelationGetDescr(w->rel);
	int			found = 0;

	for (int c = 0; c < BLOCK_NCOLUMNS; c++)
		w->attno[c] = -1;
	for (int i = 0; i < desc->natts; i++)
	{
		Form_pg_attribute att = TupleDescAttr(desc, i);
		int			c;

		if (att->attisdropped)
			continue;
		for (c = 0; c < BLOCK_NCOLUMNS; c++)
			if (strcmp(NameStr(att->attname), block_columns[c].name) == 0)
				break;
		if (c == BLOCK_NCOLUMNS || att->atttypid != block_columns[c].type)
			ereport(ERROR,
					(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
					 errmsg("mnemic.block has a column \"%s\" of type %s that pg_mnemic does not write",
							NameStr(att->attname),
							format_type_be(att->atttypid)),
					 errhint("mnemic.block is internal: drop the column, or reinstall the extension with the same version as its library.")));
		w->attno[c] = i;
		found++;
	}
	if (found != BLOCK_NCOLUMNS)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("mnemic.block lacks columns pg_mnemic writes"),
				 errhint("Reinstall the extension with the same version as its library.")));
}

void
BlockWriterOpen(BlockWriter *w, Oid relid)
{
	memset(w, 0, sizeof(*w));
	w->rel = table_open(relid, RowExclusiveLock);
	writer_map_columns(w);
	w->estate = CreateExecutorState();
	w->rri = makeNode(ResultRelInfo);
	InitResultRelInfo(w->rri, w->rel, 1, NULL, 0);
	ExecOpenIndices(w->rri, false);

	/*
	 * Slots pin the tuple descriptor in the current resource owner: made
	 * here, outside the runs' subtransactions, a failed run cannot take the
	 * pins with it.
	 */
	for (int i = 0; i < BLOCK_MULTI_INSERT_MAX; i++)
		w->slots[i] = table_slot_create(w->rel, NULL);
}

/* Write the buffered blocks and their index entries. */
static void
write_buffered(BlockWriter *w)
{
	if (w->nslots == 0)
		return;
	if (w->bistate == NULL)
		w->bistate = GetBulkInsertState();
	table_multi_insert(w->rel, w->slots, w->nslots, GetCurrentCommandId(true),
					   0, w->bistate);
	for (int i = 0; i < w->nslots; i++)
	{
		List	   *recheck;

		recheck = ExecInsertIndexTuples(w->rri, w->slots[i], w->estate,
										false, false, NULL, NIL);
		list_free(recheck);
		ExecClearTuple(w->slots[i]);
	}
	ResetPerTupleExprContext(w->estate);
	w->nslots = 0;
}

static inline void
block_set(BlockWriter *w, TupleTableSlot *slot, BlockColumn c, Datum value)
{
	slot->tts_values[w->attno[c]] = value;
	slot->tts_isnull[w->attno[c]] = false;
}

void
BlockWriterAdd(BlockWriter *w, int32 metric_id, const TimestampTz *ts,
				 const double *values, const bool *isnull, int n)
{
	TupleTableSlot *slot;

	slot = w->slots[w->nslots];
	ExecClearTuple(slot);
	/* dropped columns stay NULL */
	memset(slot->tts_isnull, true, slot->tts_tupleDescriptor->natts * sizeof(bool));
	block_set(w, slot, BLOCK_METRIC_ID, Int32GetDatum(metric_id));
	block_set(w, slot, BLOCK_T_FIRST, TimestampTzGetDatum(ts[0]));
	block_set(w, slot, BLOCK_T_LAST, TimestampTzGetDatum(ts[n - 1]));
	block_set(w, slot, BLOCK_N, Int32GetDatum(n));
	block_set(w, slot, BLOCK_TS,
			  PointerGetDatum(ArrayOfFixed(ts, NULL, n, TIMESTAMPTZOID, 8)));
	block_set(w, slot, BLOCK_VALUE,
			  PointerGetDatum(ArrayOfFixed(values, isnull, n, FLOAT8OID, 8)));
	ExecStoreVirtualTuple(slot);

	if (++w->nslots == BLOCK_MULTI_INSERT_MAX)
		write_buffered(w);
}

/*
 * End of a run's subtransaction.  The bulk-insert buffer pin belongs to the
 * subtransaction, so it is dropped before the subtransaction ends.
 */
void
BlockWriterFinishRun(BlockWriter *w)
{
	write_buffered(w);
	if (w->bistate != NULL)
		FreeBulkInsertState(w->bistate);
	w->bistate = NULL;
}

/* After a failed run: the rollback already released the pin. */
void
BlockWriterAbandonRun(BlockWriter *w)
{
	for (int i = 0; i < w->nslots; i++)
		ExecClearTuple(w->slots[i]);
	w->nslots = 0;
	w->bistate = NULL;
}

void
BlockWriterClose(BlockWriter *w)
{
	for (int i = 0; i < BLOCK_MULTI_INSERT_MAX; i++)
		ExecDropSingleTupleTableSlot(w->slots[i]);
	ExecCloseIndices(w->rri);
	FreeExecutorState(w->estate);
	table_close(w->rel, NoLock);
}

/* mnemic.block, or an error naming what is missing. */
Oid
BlockRelid(void)
{
	Oid			nsp = get_namespace_oid("mnemic", true);
	Oid			relid = OidIsValid(nsp) ? get_relname_relid("block", nsp) : InvalidOid;

	if (!OidIsValid(relid))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("pg_mnemic is not installed in this database"),
				 errhint("Run CREATE EXTENSION pg_mnemic.")));
	return relid;
}

/* The arrays of one block row as points, handed to a BlockPointsFn. */
typedef struct BlockReadState
{
	BlockPointsFn fn;
	void	   *arg;
} BlockReadState;

static bool
read_block_row(HeapTuple tuple, TupleDesc desc, void *arg)
{
	BlockReadState *state = arg;
	bool		isnull;
	Datum	   *ts;
	Datum	   *values;
	bool	   *nulls;
	int			nts;
	int			nvalues;
	TimestampTz *tsv;
	double	   *vv;
	bool		more;

	deconstruct_array(DatumGetArrayTypeP(SPI_getbinval(tuple, desc, 1, &isnull)),
					  TIMESTAMPTZOID, sizeof(TimestampTz), true, TYPALIGN_DOUBLE,
					  &ts, NULL, &nts);
	deconstruct_array(DatumGetArrayTypeP(SPI_getbinval(tuple, desc, 2, &isnull)),
					  FLOAT8OID, sizeof(float8), true, TYPALIGN_DOUBLE,
					  &values, &nulls, &nvalues);
	nts = Min(nts, nvalues);
	tsv = palloc(sizeof(TimestampTz) * Max(nts, 1));
	vv = palloc(sizeof(double) * Max(nts, 1));
	for (int i = 0; i < nts; i++)
	{
		tsv[i] = DatumGetTimestampTz(ts[i]);
		vv[i] = nulls[i] ? 0.0 : DatumGetFloat8(values[i]);
	}
	more = state->fn(tsv, vv, nulls, nts, state->arg);
	pfree(tsv);
	pfree(vv);
	pfree(ts);
	pfree(values);
	pfree(nulls);
	return more;
}

static KeptPlan read_range_plan = {
	"SELECT ts, value FROM mnemic.block WHERE metric_id = $1"
	" AND t_first BETWEEN $2 - $4 AND $3 AND t_last >= $2",
	4, {INT4OID, TIMESTAMPTZOID, TIMESTAMPTZOID, INTERVALOID}
};

static KeptPlan read_all_plan = {
	"SELECT ts, value FROM mnemic.block WHERE metric_id = $1 ORDER BY t_first",
	1, {INT4OID}
};

void
BlockReadRange(int32 metric_id, TimestampTz from, TimestampTz to,
			   Datum max_span, BlockPointsFn fn, void *arg)
{
	BlockReadState state = {fn, arg};
	Datum		args[4];

	args[0] = Int32GetDatum(metric_id);
	args[1] = TimestampTzGetDatum(from);
	args[2] = TimestampTzGetDatum(to);
	args[3] = max_span;
	SpiForEachRow(KeptPlanGet(&read_range_plan), args, NULL, true, 128,
				  read_block_row, &state);
}

void
BlockReadAll(int32 metric_id, BlockPointsFn fn, void *arg)
{
	BlockReadState state = {fn, arg};
	Datum		args[1] = {Int32GetDatum(metric_id)};

	SpiForEachRow(KeptPlanGet(&read_all_plan), args, NULL, true, 64,
				  read_block_row, &state);
}
