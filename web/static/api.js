// api.js: the JSON API of mnemic-web, one function per endpoint.

async function getJSON(url) {
	const response = await fetch(url, { headers: { Accept: 'application/json' } });
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

export const fetchTree = () => getJSON('/api/tracers');
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
