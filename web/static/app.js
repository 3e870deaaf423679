// app.js: the mnemic UI.  State that a person would share (run, range,
// metrics, compared run) lives in the URL; everything else is derived.

import { csvUrl, fetchMetrics, fetchRun, fetchSeries, fetchTail, fetchTree } from './api.js';
import { ChartSet } from './charts.js';
import { epochOf, formatCount, formatDuration, formatWhen } from './format.js';
import { ProfileView } from './profile.js';
import { renderTree, siblingRuns } from './tree.js';

const TAIL_INTERVAL_MS = 1000;
const REFRESH_INTERVAL_MS = 5000;

const $ = (id) => document.getElementById(id);

const state = {
	tree: [],
	run: null,			// uuid of the run shown
	info: null,			// its mnemic.run_info() row
	dataSpan: null,		// [first, last] point of its metrics, epoch seconds
	metrics: null,		// metric names from the URL, or null for all
	range: null,		// [from, to] epoch seconds while zoomed
	compare: null,		// uuid of the overlaid run
	seq: 0,				// drops answers to superseded requests
	tailing: false,
};

const charts = new ChartSet($('charts'), {
	onZoom: zoomTo, onReset: resetZoom,
	onCursor: (metric, ts) => profile.hoverAt(metric, ts),
	onPick: (metric, ts) => profile.pinAt(metric, ts),
});
// The profile of the window shown; its state goes in the URL with ours.
const profile = new ProfileView({
	onChange: () => writeUrl(true),
	onImported: (run) => refreshTree().then(() => selectRun(run, true)),
	getSpan: () => state.dataSpan,
});

// Tests and the benchmark read these.
window.mnemic = { state, charts, profile };

function setStatus(message) {
	$('status').textContent = message || '';
}

// ---- URL ---------------------------------------------------------------

function readUrl() {
	const q = new URLSearchParams(location.search);
	profile.readUrl(q);
	const from = parseFloat(q.get('from'));
	const to = parseFloat(q.get('to'));
	return {
		run: q.get('run'),
		range: isFinite(from) && isFinite(to) && to > from ? [from, to] : null,
		metrics: q.getAll('metric').length ? q.getAll('metric') : null,
		compare: q.get('compare'),
	};
}

function writeUrl(push) {
	const q = new URLSearchParams();
	if (state.run)
		q.set('run', state.run);
	if (state.range) {
		q.set('from', state.range[0].toFixed(6));
		q.set('to', state.range[1].toFixed(6));
	}
	for (const m of state.metrics ?? [])
		q.append('metric', m);
	if (state.compare)
		q.set('compare', state.compare);
	profile.writeUrl(q);
	const url = `${location.pathname}?${q}`;
	if (push)
		history.pushState(null, '', url);
	else
		history.replaceState(null, '', url);
}

// ---- tree --------------------------------------------------------------

async function refreshTree() {
	try {
		state.tree = await fetchTree();
		renderTree($('tree'), state.tree, state.run, (uuid) => selectRun(uuid, true));
		$('tree-empty').hidden = state.tree.length > 0;
		fillCompareChoices();
	} catch (e) {
		setStatus(`Cannot list runs: ${e.message}`);
	}
}

function fillCompareChoices() {
	const select = $('compare');
	const options = [new Option('(none)', '')];
	for (const run of siblingRuns(state.tree, state.run)) {
		if (run.run === state.run)
			continue;
		options.push(new Option(`${formatWhen(run.started ?? run.last_seen)} (${formatDuration(run.duration)})`, run.run));
	}
	select.replaceChildren(...options);
	select.value = state.compare ?? '';
	profile.setSiblings(siblingRuns(state.tree, state.run));
}

// ---- run ---------------------------------------------------------------

function summaryEntry(label, value) {
	const div = document.createElement('div');
	const dt = document.createElement('dt');
	dt.textContent = label;
	const dd = document.createElement('dd');
	dd.textContent = value;
	div.append(dt, dd);
	return div;
}

function renderSummary(info) {
	if (!info)
		return;
	$('run-title').textContent = info.tracer ?? '(unnamed)';
	$('run-live').hidden = info.state !== 'active';
	$('run-paused').hidden = !(info.state === 'active' && state.range);
	$('reset-zoom').hidden = !state.range;
	const entries = [
		summaryEntry('Run', info.run),
		summaryEntry('Started', formatWhen(info.started ?? info.first_seen)),
		summaryEntry('Duration', formatDuration(info.duration)),
		summaryEntry('Data from', state.dataSpan ? formatWhen(state.dataSpan[0] * 1000) : '—'),
		summaryEntry('Data span', state.dataSpan ? formatDuration(state.dataSpan[1] - state.dataSpan[0]) : '—'),
		summaryEntry('Samples', formatCount(info.samples)),
		summaryEntry('Datagrams', formatCount(info.datagrams)),
		summaryEntry('Datagrams lost', formatCount(info.lost)),
		summaryEntry('State', info.state ?? '—'),
	];
	if (info.host)
		entries.push(summaryEntry('Host', info.host));
	if (info.pid != null)
		entries.push(summaryEntry('PID', String(info.pid)));
	if (info.program)
		entries.push(summaryEntry('Program', info.program));
	$('run-summary').replaceChildren(...entries);
	$('csv').href = csvUrl(info.run);
}

async function selectRun(uuid, push) {
	if (uuid !== state.run) {
		state.range = null;
		state.metrics = null;
		state.compare = null;
		profile.reset();
	}
	state.run = uuid;
	writeUrl(push);
	await showRun();
}

async function showRun() {
	stopTail();
	for (const li of document.querySelectorAll('.run-item'))
		li.classList.toggle('selected', li.dataset.run === state.run);
	$('welcome').hidden = !!state.run;
	$('run').hidden = !state.run;
	if (!state.run)
		return;
	charts.clear();
	state.info = null;
	state.dataSpan = null;
	// The summary and the charts load side by side.
	const run = state.run;
	const charted = loadCharts();
	let info;
	try {
		info = await fetchRun(run);
	} catch (e) {
		setStatus(`Cannot load run ${run}: ${e.message}`);
		return;
	}
	if (run !== state.run)
		return;		// another run was picked meanwhile
	state.info = info;
	setStatus('');
	renderSummary(state.info);
	fillCompareChoices();
	const profiled = profile.show(run, info, state.range, siblingRuns(state.tree, run));
	await Promise.all([charted, profiled]);
	maybeStartTail();
}

// When a run's data begins: its earliest point (imported runs carry old
// times), else when it started.
function dataStart(info, metrics) {
	const firsts = metrics.map((m) => epochOf(m.first_ts)).filter((t) => t != null);
	return firsts.length ? Math.min(...firsts) : epochOf(info.started ?? info.first_seen);
}

// The compared run's series for the same metrics, shifted so both runs
// start at the same moment.
async function loadCompare(metrics, points) {
	const [own, other, otherMetrics, ownMetrics] = await Promise.all([
		state.info ?? fetchRun(state.run), fetchRun(state.compare),
		fetchMetrics(state.compare), fetchMetrics(state.run)]);
	const offset = dataStart(own, ownMetrics) - dataStart(other, otherMetrics);
	const theirs = new Set(otherMetrics.map((m) => m.metric));
	const shared = metrics.filter((m) => theirs.has(m));
	const byMetric = new Map();
	if (shared.length) {
		const [from, to] = state.range ?? [null, null];
		const answer = await fetchSeries(state.compare, {
			metrics: shared, points,
			from: from == null ? null : Math.max(0, from - offset),
			to: to == null ? null : Math.max(0, to - offset),
		});
		for (const s of answer.series)
			byMetric.set(s.metric, { ts: s.ts.map((t) => t + offset), value: s.value });
	}
	return { label: `compare ${formatWhen(other.started ?? other.first_seen)}`, byMetric };
}

// Checkboxes choosing which metrics are charted; the choice goes in the URL.
function renderMetricPicker(all) {
	const picker = $('metric-picker');
	const boxes = all.map((name) => {
		const label = document.createElement('label');
		const box = document.createElement('input');
		box.type = 'checkbox';
		box.value = name;
		box.checked = state.metrics == null || state.metrics.includes(name);
		box.addEventListener('change', () => {
			const checked = [...picker.querySelectorAll('input:checked')].map((b) => b.value);
			state.metrics = checked.length === all.length ? null : checked;
			writeUrl(true);
			loadCharts();
		});
		label.append(box, document.createTextNode(name));
		return label;
	});
	picker.replaceChildren(...boxes);
	picker.hidden = all.length < 2;
}

// One request per metric, side by side: the server answers them on
// separate threads (and database connections), so all charts arrive in
// about the time of the slowest one rather than of all in a row.
async function fetchAllSeries(run, { from, to, points }) {
	const rows = await fetchMetrics(run);
	const all = rows.map((m) => m.metric);
	if (run === state.run) {
		renderMetricPicker(all);
		const firsts = rows.map((m) => epochOf(m.first_ts)).filter((t) => t != null);
		const lasts = rows.map((m) => epochOf(m.last_ts)).filter((t) => t != null);
		state.dataSpan = firsts.length ? [Math.min(...firsts), Math.max(...lasts)] : null;
		renderSummary(state.info);
	}
	const names = state.metrics ? state.metrics.filter((m) => all.includes(m)) : all;
	const answers = await Promise.all(names.map((metric) =>
		fetchSeries(run, { metrics: [metric], from, to, points })));
	return { series: answers.flatMap((a) => a.series) };
}

async function loadCharts() {
	const seq = ++state.seq;
	const points = charts.plotWidth();
	const [from, to] = state.range ?? [null, null];
	try {
		const answer = await fetchAllSeries(state.run, { from, to, points });
		let compare = null;
		if (state.compare) {
			try {
				compare = await loadCompare(answer.series.map((s) => s.metric), points);
			} catch (e) {
				setStatus(`Cannot compare: ${e.message}`);
			}
		}
		if (seq !== state.seq)
			return;
		if (answer.series.length === 0) {
			const p = document.createElement('p');
			p.className = 'chart-empty';
			p.textContent = 'This run has no data yet.';
			charts.clear();
			$('charts').append(p);
		} else
			charts.render(answer.series, compare, state.range);
		document.body.dataset.chartsDrawn = String(performance.now());
		document.body.dataset.chartsRequest = String(seq);
	} catch (e) {
		if (seq === state.seq)
			setStatus(`Cannot load charts: ${e.message}`);
	}
}

// ---- zoom --------------------------------------------------------------

function zoomTo(from, to) {
	if (!(to > from))
		return;
	state.range = [from, to];
	writeUrl(true);
	stopTail();
	renderSummary(state.info);
	loadCharts();
	profile.setRange(state.range);
}

function resetZoom() {
	if (!state.range)
		return;
	state.range = null;
	writeUrl(true);
	renderSummary(state.info);
	loadCharts().then(maybeStartTail);
	profile.setRange(null);
}

// ---- live tail ---------------------------------------------------------

let tailTimer = null;
let refreshTimer = null;

function maybeStartTail() {
	stopTail();
	if (!state.info || state.info.state !== 'active' || state.range || state.compare)
		return;
	state.tailing = true;
	tailTimer = setTimeout(tailOnce, TAIL_INTERVAL_MS);
}

function stopTail() {
	state.tailing = false;
	clearTimeout(tailTimer);
	tailTimer = null;
}

async function tailOnce() {
	const run = state.run;
	const since = charts.lastTimestamp() ?? epochOf(state.info.started ?? state.info.first_seen) ?? 0;
	try {
		const answer = await fetchTail(run, since, charts.plotWidth());
		if (!state.tailing || run !== state.run)
			return;
		const shown = (s) => state.metrics == null || state.metrics.includes(s.metric);
		answer.series = answer.series.filter(shown);
		const unknown = answer.series.some((s) => !charts.charts.has(s.metric));
		if (unknown || charts.pointCount() > 40 * charts.plotWidth())
			await loadCharts();		// a new metric, or enough points to downsample again
		else
			charts.append(answer.series);
	} catch (e) {
		setStatus(`Live update failed: ${e.message}`);
	}
	if (state.tailing && run === state.run)
		tailTimer = setTimeout(tailOnce, TAIL_INTERVAL_MS);
}

// Run summary and tree every few seconds: new runs, the live mark, counts.
async function refresh() {
	await refreshTree();
	if (state.run) {
		try {
			const run = state.run;
			const info = await fetchRun(run);
			if (run === state.run) {		// not replaced meanwhile
				const wasActive = state.info && state.info.state === 'active';
				state.info = info;
				renderSummary(info);
				profile.refresh(info);
				if (info.state === 'active' && !wasActive)
					maybeStartTail();
				else if (info.state !== 'active')
					stopTail();
			}
		} catch (e) {
			setStatus(`Cannot refresh run: ${e.message}`);
		}
	}
	refreshTimer = setTimeout(refresh, REFRESH_INTERVAL_MS);
}

// ---- start -------------------------------------------------------------

function applyUrl() {
	const url = readUrl();
	state.run = url.run;
	state.range = url.range;
	state.metrics = url.metrics;
	state.compare = url.compare;
	return showRun();
}

$('compare').addEventListener('change', (event) => {
	state.compare = event.target.value || null;
	writeUrl(true);
	if (state.compare)
		stopTail();
	loadCharts().then(maybeStartTail);
});
$('reset-zoom').addEventListener('click', resetZoom);
window.addEventListener('popstate', applyUrl);

// The tree and the run in the URL load side by side.
Promise.all([refreshTree(), applyUrl()]).then(() => {
	renderTree($('tree'), state.tree, state.run, (uuid) => selectRun(uuid, true));
	refreshTimer = setTimeout(refresh, REFRESH_INTERVAL_MS);
});
