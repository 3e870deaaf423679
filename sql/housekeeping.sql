-- housekeeping.sql: deleting runs, retention and merging small blocks.

-- Delete a run with its metrics, blocks and summaries.  false if unknown.
CREATE FUNCTION mnemic.delete_run(run uuid)
RETURNS boolean
AS 'MODULE_PATHNAME', 'mnemic_delete_run'
LANGUAGE C STRICT VOLATILE;

-- Delete every run last seen longer ago than age; returns how many.
CREATE FUNCTION mnemic.drop_runs_older_than(age interval)
RETURNS bigint
AS 'MODULE_PATHNAME', 'mnemic_drop_runs_older_than'
LANGUAGE C STRICT VOLATILE;

-- Merge small blocks into full ones.  A metric sampled less often than the
-- listener flushes gets a block per flush (one point, ~124 bytes), where a
-- full block stores a point in ~16.6 bytes (docs/storage.md).  This rewrites
-- every metric's blocks of fewer than 124 points whose last point is older
-- than older_than (so the live tail is left alone) into blocks of up to 248
-- points, and widens metric.max_span to match.  Points, summaries and what
-- readers see are unchanged.  All runs, or only the run given.  Returns the
-- number of points moved; meant to be called periodically (housekeeping).
--   SELECT mnemic.compact_blocks();
CREATE FUNCTION mnemic.compact_blocks(older_than interval DEFAULT '10 minutes',
                                      run uuid DEFAULT NULL)
RETURNS bigint
LANGUAGE sql VOLATILE PARALLEL UNSAFE
SET search_path = pg_catalog, pg_temp
AS $$
WITH mergeable AS (
    SELECT b.metric_id FROM mnemic.block b
    WHERE b.n < mnemic.block_capacity() / 2 AND b.t_last < now() - older_than
      AND (run IS NULL OR b.metric_id IN (
             SELECT m.id FROM mnemic.metric m JOIN mnemic.run r ON r.id = m.run_id
             WHERE r.uuid = run))
    GROUP BY b.metric_id HAVING count(*) > 1
), removed AS (
    DELETE FROM mnemic.block b USING mergeable m
    WHERE b.metric_id = m.metric_id AND b.n < mnemic.block_capacity() / 2
      AND b.t_last < now() - older_than
    RETURNING b.metric_id, b.t_first, b.ts, b.value
), points AS (
    -- ordered by time, points of equal time in the order they were stored
    SELECT r.metric_id, p.ts, p.value,
           row_number() OVER (PARTITION BY r.metric_id
                              ORDER BY p.ts, r.t_first, p.pos) - 1 AS seq
    FROM removed r, unnest(r.ts, r.value) WITH ORDINALITY AS p (ts, value, pos)
), added AS (
    INSERT INTO mnemic.block (metric_id, t_first, t_last, n, ts, value)
    SELECT metric_id, min(ts), max(ts), count(*), array_agg(ts ORDER BY seq),
           array_agg(value ORDER BY seq)
    FROM points GROUP BY metric_id, seq / mnemic.block_capacity()
    RETURNING metric_id, n, t_last - t_first AS span
), widened AS (
    UPDATE mnemic.metric m SET max_span = greatest(m.max_span, a.span)
    FROM (SELECT metric_id, max(span) AS span FROM added GROUP BY metric_id) a
    WHERE m.id = a.metric_id
    RETURNING m.id
)
SELECT coalesce(sum(n), 0)::bigint FROM added
$$;

-- Delete the frames, stacks and type names no run uses any more (they are
-- shared by every run, so deleting a run leaves them).  Writers hold a
-- shared lock on the same key while they store profiles, and forget the
-- ids they cached when the generation moves.  Returns the rows deleted;
-- the listener's housekeeping calls it after retention dropped runs.
CREATE FUNCTION mnemic.collect_profile_garbage()
RETURNS bigint
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    stacks bigint;
    frames bigint;
    types bigint;
BEGIN
    PERFORM pg_advisory_xact_lock(7132051620131103);
    WITH RECURSIVE used (id) AS (
        SELECT stack_id FROM mnemic.prof_run_stack WHERE stack_id IS NOT NULL
        UNION
        SELECT s.parent FROM mnemic.prof_stack s JOIN used u ON s.id = u.id
        WHERE s.parent <> 0
    )
    DELETE FROM mnemic.prof_stack s WHERE NOT EXISTS (
        SELECT FROM used u WHERE u.id = s.id);
    GET DIAGNOSTICS stacks = ROW_COUNT;
    DELETE FROM mnemic.prof_frame f
    WHERE NOT EXISTS (SELECT FROM mnemic.prof_stack s WHERE s.frame_id = f.id)
      AND NOT EXISTS (SELECT FROM mnemic.prof_run_frame r WHERE r.frame_id = f.id);
    GET DIAGNOSTICS frames = ROW_COUNT;
    DELETE FROM mnemic.prof_type t
    WHERE NOT EXISTS (SELECT FROM mnemic.prof_run_type r WHERE r.type_id = t.id);
    GET DIAGNOSTICS types = ROW_COUNT;
    IF stacks + frames + types > 0 THEN
        PERFORM nextval('mnemic.prof_gc_generation');
    END IF;
    RETURN stacks + frames + types;
END
$$;
