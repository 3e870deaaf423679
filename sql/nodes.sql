-- nodes.sql: beyond one machine.  A coordinator is a database with
-- pg_mnemic whose mnemic.node lists nodes; its reading functions (runs(),
-- series(), flamegraph(), ...) then answer from the nodes, through dblink.
-- C code in pg_mnemic/coordinator.c, node_calls.c and nodes_sql.c; the
-- manual in docs/sql.md, "Beyond one machine".

-- Register a node: name (lower-case letters, digits, _) and a libpq
-- connection string.  Installs postgres_fdw and dblink when missing,
-- creates the foreign server mnemic_node_<name> from the string and a user
-- mapping for PUBLIC with its user and password.  A WARNING when the node
-- does not answer now.
--   SELECT mnemic.add_node('n1', 'host=db1 port=5432 dbname=mnemic user=coordinator');
CREATE FUNCTION mnemic.add_node(name text, conninfo text)
RETURNS void
AS 'MODULE_PATHNAME', 'mnemic_add_node'
LANGUAGE C VOLATILE STRICT;

-- Forget a node, with its server and user mappings; false when unknown.
CREATE FUNCTION mnemic.remove_node(name text)
RETURNS boolean
AS 'MODULE_PATHNAME', 'mnemic_remove_node'
LANGUAGE C VOLATILE STRICT;

-- Every node, asked now (all at once): state 'up', 'unavailable' (cannot
-- be reached within pg_mnemic.node_connect_timeout, or slower than
-- pg_mnemic.node_statement_timeout) or 'failing' (answers with an error);
-- its runs, when it last heard from one, its pg_mnemic version, and the
-- error when not up.
CREATE FUNCTION mnemic.nodes()
RETURNS TABLE (node text, state text, runs bigint, last_seen timestamptz,
               version text, detail text)
AS 'MODULE_PATHNAME', 'mnemic_nodes'
LANGUAGE C VOLATILE;

-- Tells every session that the registry changed, so that each looks again
-- whether it is a coordinator.
CREATE FUNCTION mnemic.node_registry_changed()
RETURNS trigger
AS 'MODULE_PATHNAME', 'mnemic_node_registry_changed'
LANGUAGE C;

CREATE TRIGGER node_registry_changed
AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON mnemic.node
FOR EACH STATEMENT EXECUTE FUNCTION mnemic.node_registry_changed();
