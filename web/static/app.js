// app.js: the mnemic UI.  State that a person would share (run, range,
// metrics and their filter, compared run, the sidebar's filter) lives in
// the URL; everything else is derived.

import { csvUrl, fetchMetrics, fetchRun, fetchSeries, fetchTail } from './api.js';
import { ChartSet } from './charts.js';
import { epochOf, formatCount, formatDuration, formatWhen } from './format.js';
import { groupMetrics, metricMatcher } from './metrics.js';
import { ProfileView } from './profile.js';
import { Sidebar } from './tree.js';

const TAIL_INTERVAL_MS = 1000;
const REFRESH_INTERVAL_MS = 5000;

const $ = (id) => document.getElementById(id);

const state = {
	filter: '',			// the sidebar's filter box, as typed
	run: null,			// uuid of the run shown
	info: null,			// its mnemic.run_info() row
	dataSpan: null,		// [first, last] point of its metrics, epoch seconds
	metrics: null,		// metric names from the URL, or null for all
	match: '',			// the metric filter: words, globs or /regexps/
	allMetrics: [],		// every metric of the run shown
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
const sidebar = new Sidebar($('tree'), {
	onSelect: (uuid) => selectRun(uuid, true),
	onError: setStatus,
});
// The profile of the window shown; its state goes in the URL with ours.
const profile = new ProfileView({
	onChange: () => writeUrl(true),
	onImported: (run) => loadSidebar().then(() => selectRun(run, true)),
	getSpan: () => state.dataSpan,
});

// Tests and the benchmark read these.
window.mnemic = { state, charts, sidebar, profile };

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
		match: q.get('match') ?? '',
		compare: q.get('compare'),
		filter: q.get('filter') ?? '',
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
	if (state.match)
		q.set('match', state.match);
	if (state.compare)
		q.set('compare', state.compare);
	if (state.filter)
		q.set('filter', state.filter);
	profile.writeUrl(q);
	const url = `${location.pathname}?${q}`;
	if (push)
		history.pushState(null, '', url);
	else
		history.replaceState(null, '', url);
}

// ---- sidebar -----------------------------------------------------------

async function loadSidebar() {
	try {
		await sidebar.load(state.filter);
		$('tree-empty').hidden = sidebar.size > 0 || !!state.filter;
		$('filter-empty').hidden = sidebar.size > 0 || !state.filter;
		if (state.info)
			await sidebar.reveal(state.info);
		fillCompareChoices();
	} catch (e) {
		setStatus(`Cannot list tracers: ${e.message}`);
	}
}

let filterTimer = null;

function filterChanged(text) {
	clearTimeout(filterTimer);
	filterTimer = setTimeout(() => {
		if (text === state.filter)
			return;
		state.filter = text;
		writeUrl(false);
		loadSidebar();
	}, 250);
}

// The compared run is chosen among the runs of the same tracer the sidebar
// has loaded (its newest page at least), and the one in the URL.
function fillCompareChoices() {
	const select = $('compare');
	const options = [new Option('(none)', '')];
	const runs = state.info ? sidebar.runsOf(state.info.tracer) : [];
	for (const run of runs) {
		if (run.run === state.run)
			continue;
		options.push(new Option(`${formatWhen(run.started ?? run.last_seen)} (${formatDuration(run.duration)})`, run.run));
	}
	if (state.compare && !runs.some((r) => r.run === state.compare))
		options.push(new Option(state.compare, state.compare));
	select.replaceChildren(...options);
	select.value = state.compare ?? '';
	profile.setSiblings(runs);
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
		state.match = '';
		state.compare = null;
		profile.reset();
	}
	state.run = uuid;
	writeUrl(push);
	await showRun();
}

async function showRun() {
	stopTail();
	sidebar.select(state.run);
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
	// A run shared by URL may be far down its tracer's list.
	sidebar.reveal(info).then(fillCompareChoices);
	const profiled = profile.show(run, info, state.range, sidebar.runsOf(info.tracer));
	await Promise.all([charted, profiled]);
	maybeStartTail();
}

// When a run's data begins: its earliest point (imported runs carry old
// times), else when it started.
function dataStart(info, metrics) {
	const firsts = metrics.map((m) => epochOf(m.first_ts)).filter((t) => t != null);
	return firsts.length ? Math.min(...firsts) : epochOf(info.started ?? info.first_seen);
}

// The compared run, once per load of the charts: its label, its metrics,
// and the shift that makes both runs start at the same moment.
async function compareContext() {
	const [own, other, otherMetrics, ownMetrics] = await Promise.all([
		state.info ?? fetchRun(state.run), fetchRun(state.compare),
		fetchMetrics(state.compare), fetchMetrics(state.run)]);
	return {
		label: `compare ${formatWhen(other.started ?? other.first_seen)}`,
		offset: dataStart(own, ownMetrics) - dataStart(other, otherMetrics),
		theirs: new Set(otherMetrics.map((m) => m.metric)),
	};
}

// The compared run's series for the same metrics, shifted onto this run.
async function loadCompare(context, metrics, points) {
	const { offset, theirs, label } = await context;
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
	return { label, byMetric };
}

// The metrics charted: those chosen (all by default) that the filter keeps.
function shownMetrics() {
	let matches = null;
	try {
		matches = metricMatcher(state.match);
		$('metric-match').setCustomValidity('');
	} catch (e) {
		$('metric-match').setCustomValidity(e.message);
	}
	return state.allMetrics.filter((m) =>
		(state.metrics == null || state.metrics.includes(m)) && (!matches || matches(m)));
}

// Runs with more metrics than this get the filter box and their metrics
// in groups; smaller ones a row of checkboxes, as they always had.
const FEW_METRICS = 12;

// Groups of the metrics, or one without a name for a few.
function metricGroups(names) {
	return names.length > FEW_METRICS ? groupMetrics(names) : [{ name: '', metrics: names }];
}

// The metric picker: a filter box, then checkboxes in groups (built-in,
// each @profiler function, custom), the choice going in the URL.  With
// many metrics the checkboxes start folded, and so do large groups.
function renderMetricPicker(all) {
	const picker = $('metric-picker');
	if (!$('metric-match')) {
		const match = document.createElement('input');
		match.id = 'metric-match';
		match.type = 'search';
		match.placeholder = 'filter metrics: cpu, *_hits, /^http_/';
		match.setAttribute('aria-label', 'Filter metrics by name or pattern');
		match.addEventListener('input', () => {
			clearTimeout(matchTimer);
			matchTimer = setTimeout(() => {
				state.match = match.value.trim();
				writeUrl(false);
				layoutCharts();
			}, 200);
		});
		const count = document.createElement('span');
		count.id = 'metric-count';
		const choose = document.createElement('details');
		choose.id = 'metric-choose';
		const summary = document.createElement('summary');
		summary.textContent = 'Choose metrics';
		const groups = document.createElement('div');
		groups.id = 'metric-groups';
		choose.append(summary, groups);
		picker.append(match, count, choose);
	}
	if (document.activeElement !== $('metric-match'))
		$('metric-match').value = state.match;
	const few = all.length <= FEW_METRICS;
	$('metric-match').hidden = few && !state.match;
	$('metric-choose').classList.toggle('flat', few);
	const fold = all.length > 30;
	// Folded or not as the run's size says when a run is shown, then as
	// the user leaves it.
	if (picker.dataset.run !== state.run) {
		picker.dataset.run = state.run;
		$('metric-choose').open = !fold;
	}
	const sections = metricGroups(all).map((group) => {
		const section = document.createElement('details');
		section.className = 'metric-group';
		section.open = !fold || group.metrics.length <= 12;
		const summary = document.createElement('summary');
		const groupBox = document.createElement('input');
		groupBox.type = 'checkbox';
		groupBox.className = 'group-box';
		groupBox.setAttribute('aria-label', `all of ${group.name}`);
		summary.append(groupBox, document.createTextNode(` ${group.name} (${group.metrics.length})`));
		const boxes = group.metrics.map((name) => {
			const label = document.createElement('label');
			const box = document.createElement('input');
			box.type = 'checkbox';
			box.className = 'metric-box';
			box.value = name;
			box.checked = state.metrics == null || state.metrics.includes(name);
			box.addEventListener('change', () => choose(all));
			label.append(box, document.createTextNode(name));
			return label;
		});
		const sync = () => {
			const on = boxes.filter((l) => l.firstChild.checked).length;
			groupBox.checked = on === boxes.length;
			groupBox.indeterminate = on > 0 && on < boxes.length;
		};
		sync();
		groupBox.addEventListener('click', (e) => e.stopPropagation());
		groupBox.addEventListener('change', () => {
			for (const l of boxes)
				l.firstChild.checked = groupBox.checked;
			choose(all);
		});
		for (const l of boxes)
			l.firstChild.addEventListener('change', sync);
		const list = document.createElement('div');
		list.className = 'metric-boxes';
		list.append(...boxes);
		section.append(summary, list);
		return section;
	});
	$('metric-groups').replaceChildren(...sections);
	picker.hidden = all.length < 2;
}

let matchTimer = null;

function choose(all) {
	const checked = [...$('metric-picker').querySelectorAll('input.metric-box:checked')].map((b) => b.value);
	state.metrics = checked.length === all.length ? null : checked;
	writeUrl(true);
	layoutCharts();
}

// Lay out a slot per metric shown; each is drawn when it comes near the
// view (charts.js).  A new layout asks again for whatever is near.
function layoutCharts() {
	const seq = ++state.seq;
	const shown = shownMetrics();
	$('metric-count').textContent = shown.length === state.allMetrics.length ? ''
		: `${shown.length} of ${state.allMetrics.length} shown`;
	if (shown.length === 0) {
		charts.clear();
		const p = document.createElement('p');
		p.className = 'chart-empty';
		p.textContent = state.allMetrics.length ? 'No metric matches the filter.' : 'This run has no data yet.';
		$('charts').append(p);
		markChartsDrawn(seq);
		return;
	}
	const context = state.compare ? compareContext() : null;
	context?.catch(() => {});
	// The label must be known before the slots are laid out: await it.
	const laidOut = (label) => charts.layout(metricGroups(shown), label,
		(metrics) => drawCharts(seq, state.run, metrics, context));
	if (context)
		context.then((c) => seq === state.seq && laidOut(c.label),
			(e) => { setStatus(`Cannot compare: ${e.message}`); laidOut(null); });
	else
		laidOut(null);
}

function markChartsDrawn(seq) {
	document.body.dataset.chartsDrawn = String(performance.now());
	document.body.dataset.chartsRequest = String(seq);
}

// One request per metric, side by side: the server answers them on
// separate threads (and database connections), so a batch arrives in about
// the time of its slowest chart rather than of all in a row.
async function drawCharts(seq, run, metrics, context) {
	const points = charts.plotWidth();
	const [from, to] = state.range ?? [null, null];
	try {
		const answers = await Promise.all(metrics.map((metric) =>
			fetchSeries(run, { metrics: [metric], from, to, points })));
		let compare = null;
		if (context) {
			try {
				compare = await loadCompare(context, metrics, points);
			} catch (e) {
				setStatus(`Cannot compare: ${e.message}`);
			}
		}
		if (seq !== state.seq)
			return;
		charts.fill(answers.flatMap((a) => a.series), compare, state.range);
		markChartsDrawn(seq);
	} catch (e) {
		if (seq === state.seq) {
			charts.failed(metrics);
			setStatus(`Cannot load charts: ${e.message}`);
		}
	}
}

// The run's metrics, then the charts of those shown.
async function loadCharts() {
	const run = state.run;
	try {
		const rows = await fetchMetrics(run);
		if (run !== state.run)
			return;
		state.allMetrics = rows.map((m) => m.metric);
		renderMetricPicker(state.allMetrics);
		const firsts = rows.map((m) => epochOf(m.first_ts)).filter((t) => t != null);
		const lasts = rows.map((m) => epochOf(m.last_ts)).filter((t) => t != null);
		state.dataSpan = firsts.length ? [Math.min(...firsts), Math.max(...lasts)] : null;
		renderSummary(state.info);
		layoutCharts();
	} catch (e) {
		if (run === state.run)
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
		const known = new Set(state.allMetrics);
		const unknown = answer.series.some((s) => !known.has(s.metric));
		// Drawn charts gain the points; the others read them when drawn.
		if (unknown || charts.pointCount() > 40 * charts.plotWidth())
			await loadCharts();		// a new metric, or enough points to downsample again
		else
			charts.append(answer.series.filter((s) => charts.charts.has(s.metric)));
	} catch (e) {
		setStatus(`Live update failed: ${e.message}`);
	}
	if (state.tailing && run === state.run)
		tailTimer = setTimeout(tailOnce, TAIL_INTERVAL_MS);
}

// Every few seconds, what changed: the sidebar asks only for that, and the
// run shown is read again only when its tracer's row changed (a write to
// one of its runs, or a run that stopped being active).
async function refresh() {
	let changed = null;
	try {
		changed = await sidebar.refresh();
	} catch (e) {
		setStatus(`Cannot refresh the list: ${e.message}`);
	}
	const tracer = state.info ? state.info.tracer ?? '(unnamed)' : null;
	if (state.run && (changed == null || !state.info || changed.has(tracer))) {
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
	state.match = url.match;
	state.compare = url.compare;
	if (url.filter !== state.filter) {
		state.filter = url.filter;
		$('filter').value = state.filter;
		loadSidebar();
	}
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
$('filter').addEventListener('input', (event) => filterChanged(event.target.value.trim()));
$('filter-form').addEventListener('submit', (event) => {
	event.preventDefault();
	filterChanged($('filter').value.trim());
});
window.addEventListener('popstate', applyUrl);

// The sidebar and the run in the URL load side by side.
state.filter = readUrl().filter;
$('filter').value = state.filter;
Promise.all([loadSidebar(), applyUrl()]).then(() => {
	refreshTimer = setTimeout(refresh, REFRESH_INTERVAL_MS);
});
