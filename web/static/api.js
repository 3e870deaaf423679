// api.js: the JSON API of mnemic-web, one function per endpoint.

// A coordinator that cannot reach one of its nodes answers a listing
// without that node's runs and says so in the Mnemic-Warning header: shown
// in #partial until a listing comes back whole.
function showPartial(response) {
	const banner = document.getElementById('partial');
	const warning = response.headers.get('Mnemic-Warning');
	if (!banner)
		return;
	banner.textContent = warning ? `Partial answer: ${warning}` : '';
	banner.hidden = !warning;
}

async function getJSON(url, { listing = false } = {}) {
	const response = await fetch(url, { headers: { Accept: 'application/json' } });
	if (listing)
		showPartial(response);
	let body = null;
	try {
		body = await response.json();
	} catch (e) {
		// Not JSON: fall through to the status check.
	}
	if (!response.ok) {
		const message = body && body.error ? body.error.message : response.statusText;
		throw new Error(`${response.status}: ${message}`);
	}
	return body;
}

const runPath = (uuid) => `/api/runs/${encodeURIComponent(uuid)}`;

// Leaves out parameters that are null, undefined or empty.
function query(params) {
	const q = new URLSearchParams();
	for (const [k, v] of Object.entries(params))
		if (v != null && v !== '')
			q.set(k, String(v));
	return q;
}

// {cursor, tracers: [...]}: name, host, program, state, from, to, changed_since.
export const fetchTracers = (params = {}) => getJSON(`/api/tracers?${query(params)}`, { listing: true });
// {cursor, runs: [...], next}: tracer or unnamed, the filters, before,
// before_run, limit, changed_since.
export const fetchRunsPage = (params = {}) => getJSON(`/api/runs?${query(params)}`, { listing: true });
export const fetchRun = (uuid) => getJSON(runPath(uuid));
export const fetchMetrics = (uuid) => getJSON(`${runPath(uuid)}/metrics`);
export const csvUrl = (uuid) => `${runPath(uuid)}.csv`;

// Several metrics over [from, to] (epoch seconds, or null for the whole run),
// `points` pixels wide.
export function fetchSeries(uuid, { metrics = [], from = null, to = null, points = 1000, method = 'm4' } = {}) {
	const q = new URLSearchParams();
	for (const m of metrics)
		q.append('metric', m);
	if (from != null)
		q.set('from', String(from));
	if (to != null)
		q.set('to', String(to));
	q.set('points', String(Math.max(1, Math.round(points))));
	q.set('method', method);
	return getJSON(`${runPath(uuid)}/series?${q}`);
}

// Points newer than `since` (epoch seconds) for every metric of the run.
export function fetchTail(uuid, since, points = 1000) {
	const q = new URLSearchParams({ since: String(since), points: String(points) });
	return getJSON(`${runPath(uuid)}/tail?${q}`);
}

// ---- profiles ----------------------------------------------------------

function windowQuery({ from = null, to = null, weight = null } = {}) {
	const q = new URLSearchParams();
	if (from != null)
		q.set('from', String(from));
	if (to != null)
		q.set('to', String(to));
	if (weight)
		q.set('weight', weight);
	return q;
}

// The flame graph of a window: columns of nodes (see web/README.md).
export function fetchFlamegraph(uuid, { from, to, weight, thread = null, maxNodes = null } = {}) {
	const q = windowQuery({ from, to, weight });
	if (thread)
		q.set('thread', thread);
	if (maxNodes)
		q.set('max_nodes', String(maxNodes));
	return getJSON(`${runPath(uuid)}/flamegraph?${q}`);
}

// This window against a base: another run, or another window of this one.
export function fetchFlamegraphDiff(uuid, { from, to, weight, base, baseFrom = null, baseTo = null } = {}) {
	const q = windowQuery({ from, to, weight });
	q.set('base', base);
	if (baseFrom != null)
		q.set('base_from', String(baseFrom));
	if (baseTo != null)
		q.set('base_to', String(baseTo));
	return getJSON(`${runPath(uuid)}/flamegraph/diff?${q}`);
}

export function fetchTopFunctions(uuid, { from, to, weight, n = 50, thread = null } = {}) {
	const q = windowQuery({ from, to, weight });
	q.set('n', String(n));
	if (thread)
		q.set('thread', thread);
	return getJSON(`${runPath(uuid)}/top?${q}`);
}

// The run's threads of stack samples, by name, the most samples first.
export function fetchThreads(uuid) {
	return getJSON(`${runPath(uuid)}/threads`);
}

export function fetchStackAt(uuid, at, thread = null) {
	const q = new URLSearchParams({ at: String(at) });
	if (thread)
		q.set('thread', thread);
	return getJSON(`${runPath(uuid)}/stack?${q}`);
}

export function fetchAllocations(uuid, { from, to, weight = 'alloc', fn = null } = {}) {
	const q = windowQuery({ from, to, weight });
	if (fn != null)
		q.set('function', fn);
	return getJSON(`${runPath(uuid)}/allocations?${q}`);
}

export function profileExportUrl(uuid, { from, to, weight, format }) {
	const q = windowQuery({ from, to, weight });
	q.set('format', format);
	return `${runPath(uuid)}/profile?${q}`;
}

// Upload a profile file as a new run of tracer; {run, tracer, format}.
export async function importProfile(tracer, file, token) {
	const response = await fetch(`/api/import?${new URLSearchParams({ tracer })}`, {
		method: 'POST',
		headers: { 'X-Mnemic-Token': token, 'Content-Type': 'application/octet-stream' },
		body: file,
	});
	const body = await response.json().catch(() => null);
	if (!response.ok)
		throw new Error(`${response.status}: ${body && body.error ? body.error.message : response.statusText}`);
	return body;
}
