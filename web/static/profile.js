// profile.js: the profile of the run shown, for the window the charts show:
// flame graph (zoom, breadcrumb, search, weights, colour by memory, diff),
// top functions, allocations by type of a frame, the stack at a moment of
// the memory chart, export and import.  Its state lives in the URL
// (readUrl/writeUrl); every name goes into the page as text.

import {
	fetchAllocations, fetchFlamegraph, fetchFlamegraphDiff, fetchStackAt, fetchThreads,
	fetchTopFunctions, importProfile, profileExportUrl,
} from './api.js';
import { FlameGraph, FlameTree, formatValue } from './flamegraph.js';
import { formatDuration, formatWhen } from './format.js';

const WEIGHTS = ['cpu', 'wall', 'samples', 'alloc', 'inuse'];
const MEMORY_METRIC = 'rss_bytes';

const $ = (id) => document.getElementById(id);

function element(tag, className, text) {
	const e = document.createElement(tag);
	if (className)
		e.className = className;
	if (text != null)
		e.textContent = text;
	return e;
}

function timeText(epoch) {
	const d = new Date(epoch * 1000);
	return `${d.toISOString().slice(11, 23)} UTC`;
}

export class ProfileView {
	// onChange(): the state changed (write the URL); onImported(run): a new
	// run; getSpan(): the run's data [first, last] in epoch seconds, or null.
	constructor({ onChange, onImported, getSpan }) {
		this.onChange = onChange;
		this.onImported = onImported;
		this.getSpan = getSpan ?? (() => null);
		this.run = null;
		this.info = null;
		this.siblings = [];
		this.range = null;			// [from, to] epoch seconds, or null: the whole run
		// shared state, in the URL
		this.weight = null;			// null: the default for the run
		this.thread = null;			// a thread's name, or null: every thread
		this.memory = false;
		this.focusPath = [];		// frame labels from the root to the zoomed frame
		this.search = '';
		this.base = null;			// uuid of the diff's base, or null
		this.baseRange = null;		// [from, to] of the base, or null: its whole run
		this.pinned = null;			// epoch seconds of the pinned stack, or null
		// derived
		this.tree = null;
		this.seq = 0;
		this.topRows = [];
		this.threads = null;		// {run, list} of mnemic.threads(), once per run
		this.sort = { key: 'self', dir: -1 };
		this.stackWanted = null;
		this.stackBusy = false;

		this.graph = new FlameGraph($('fg-graph'), {
			onFocus: (node) => this.zoom(node, true),
		});
		this.bindControls();
	}

	// ---- URL ------------------------------------------------------------

	readUrl(q) {
		const weight = q.get('weight');
		this.weight = WEIGHTS.includes(weight) ? weight : null;
		this.thread = q.get('thread') || null;
		this.memory = q.get('memory') === '1';
		this.focusPath = q.getAll('focus');
		this.search = q.get('search') ?? '';
		this.base = q.get('base');
		const bf = parseFloat(q.get('base_from'));
		const bt = parseFloat(q.get('base_to'));
		this.baseRange = isFinite(bf) && isFinite(bt) && bt > bf ? [bf, bt] : null;
		const at = parseFloat(q.get('at'));
		this.pinned = isFinite(at) ? at : null;
	}

	writeUrl(q) {
		if (this.weight)
			q.set('weight', this.weight);
		if (this.thread)
			q.set('thread', this.thread);
		if (this.memory)
			q.set('memory', '1');
		for (const label of this.focusPath)
			q.append('focus', label);
		if (this.search)
			q.set('search', this.search);
		if (this.base) {
			q.set('base', this.base);
			if (this.baseRange) {
				q.set('base_from', this.baseRange[0].toFixed(6));
				q.set('base_to', this.baseRange[1].toFixed(6));
			}
		}
		if (this.pinned != null)
			q.set('at', this.pinned.toFixed(6));
	}

	// A new run: forget what belonged to the previous one.
	reset() {
		this.weight = null;
		this.thread = null;
		this.memory = false;
		this.focusPath = [];
		this.search = '';
		this.base = null;
		this.baseRange = null;
		this.pinned = null;
	}

	changed() {
		if (this.onChange)
			this.onChange();
	}

	// ---- what is shown ----------------------------------------------------

	hasProfile() {
		return !!this.info && (this.info.stack_samples > 0 || this.info.alloc_samples > 0);
	}

	effectiveWeight() {
		if (this.weight)
			return this.weight;
		return this.info && !(this.info.stack_samples > 0) && this.info.alloc_samples > 0 ? 'alloc' : 'cpu';
	}

	// The run's summary arrived (or changed): show or hide, then load.
	show(run, info, range, siblings) {
		this.run = run;
		this.info = info;
		this.range = range;
		this.siblings = siblings ?? [];
		$('profile').hidden = !this.hasProfile();
		this.fillControls();
		this.renderStack(null);
		if (!this.hasProfile())
			return Promise.resolve();
		if (this.pinned != null)
			this.showStackAt(this.pinned);
		return this.load();
	}

	// The runs of the tracer, newest first, when the tree (re)loads.
	setSiblings(siblings) {
		const ids = (list) => list.map((r) => r.run).join();
		const changed = ids(siblings ?? []) !== ids(this.siblings);
		this.siblings = siblings ?? [];
		if (changed && this.info)
			this.fillControls();
	}

	// The charts' window changed.
	setRange(range) {
		this.range = range;
		if (this.hasProfile())
			this.load();
	}

	// A periodic refresh of an active run: redraw with what arrived.
	refresh(info) {
		const grew = this.info && info.stack_samples !== this.info.stack_samples;
		const wasHidden = !this.hasProfile();
		this.info = info;
		if (wasHidden && this.hasProfile())
			return this.show(this.run, info, this.range, this.siblings);
		if (grew && !this.range && this.hasProfile())
			return this.load();
		return Promise.resolve();
	}

	window() {
		const [from, to] = this.range ?? [null, null];
		return { from, to };
	}

	// The flame graph of the window, drawn as soon as it arrives; the top
	// functions and the memory colours follow.
	async load() {
		const seq = ++this.seq;
		const run = this.run;
		const weight = this.effectiveWeight();
		const { from, to } = this.window();
		const status = $('fg-status');
		const current = () => seq === this.seq && run === this.run;
		status.textContent = 'Loading…';
		this.updateExportLinks();
		const thread = this.base ? null : this.thread;
		this.loadThreads(run);
		const memory = this.memory && !this.base && weight !== 'alloc'
			? fetchFlamegraph(run, { from, to, weight: 'alloc', thread }) : null;
		// Awaited below, unless the flame graph fails first.
		memory?.catch(() => null);
		try {
			const answer = await (this.base
				? fetchFlamegraphDiff(run, { from, to, weight, base: this.base,
					baseFrom: this.baseRange?.[0], baseTo: this.baseRange?.[1] })
				: fetchFlamegraph(run, { from, to, weight, thread }));
			if (!current())
				return;
			// Asked once the flame graph is in: on a busy server it would
			// compete with the flame graph for the same samples.
			const top = fetchTopFunctions(run, { from, to, weight, n: 50, thread });
			top.catch(() => null);
			this.tree = new FlameTree(answer);
			this.graph.colourBy = this.base ? 'diff' : (this.memory ? 'memory' : 'name');
			this.graph.setTree(this.tree, this.tree.find(this.focusPath));
			this.applySearch();
			this.renderBreadcrumb();
			this.renderChanges();
			this.renderAllocations();
			status.textContent = this.describeWindow(answer);
			const container = $('fg-graph');
			container.dataset.request = String(seq);
			container.dataset.weight = weight;
			container.dataset.from = from == null ? '' : String(from);
			container.dataset.to = to == null ? '' : String(to);
			if (this.memory)
				this.graph.setMemory(this.memoryOf(this.tree, memory ? new FlameTree(await memory) : this.tree));
			const topAnswer = await top;
			if (!current())
				return;
			this.topRows = topAnswer.functions;
			this.renderTop(topAnswer.unit);
			container.dataset.loaded = String(performance.now());
		} catch (e) {
			if (current())
				status.textContent = `Cannot load the profile: ${e.message}`;
		}
	}

	describeWindow(answer) {
		const { from, to } = this.window();
		const where = from == null ? 'whole run' : `${timeText(from)} – ${timeText(to)} (${formatDuration(to - from)})`;
		let text = `${where}: ${formatValue(answer.total[0], answer.unit)} ${answer.weight}`;
		if (answer.left_out > 0)
			text += `; ${answer.left_out.toLocaleString()} narrowest frames left out`;
		if (this.base) {
			const base = this.baseRange ? `${timeText(this.baseRange[0])} – ${timeText(this.baseRange[1])}` : 'whole run';
			const which = this.base === this.run ? 'this run' : 'run ' + this.base.slice(0, 8);
			text += `; against ${which}, ${base}: ${formatValue(answer.base_total[0], answer.unit)}`;
		}
		return text;
	}

	// Bytes allocated in each node itself, from a tree of weight alloc of
	// the same window, matched by path.
	memoryOf(tree, allocTree) {
		const bytes = new Float64Array(tree.n);
		const bySelf = new Map();
		const allocKeys = allocTree.pathKeys();
		for (let i = 0; i < allocTree.n; i++)
			bySelf.set(allocKeys[i], allocTree.self[i]);
		const keys = tree === allocTree ? allocKeys : tree.pathKeys();
		for (let i = 0; i < tree.n; i++)
			bytes[i] = bySelf.get(keys[i]) ?? 0;
		return bytes;
	}

	// ---- zoom and breadcrumb ------------------------------------------------

	zoom(node, push) {
		if (!this.tree)
			return;
		this.focusPath = this.tree.pathTo(node).map((i) => this.tree.frameLabel(i));
		this.graph.setFocus(node);
		this.renderBreadcrumb();
		this.renderAllocations();
		if (push)
			this.changed();
	}

	renderBreadcrumb() {
		const nav = $('fg-breadcrumb');
		const t = this.tree;
		const items = [];
		const path = [0, ...t.pathTo(this.graph.focus)];
		path.forEach((node, k) => {
			if (k > 0)
				items.push(element('span', 'crumb-sep', '›'));
			const b = element('button', 'crumb', node === 0 ? 'all' : t.functionName(node));
			b.type = 'button';
			b.title = node === 0 ? 'the whole window' : t.frameLabel(node);
			b.dataset.node = String(node);
			if (k === path.length - 1)
				b.setAttribute('aria-current', 'true');
			b.addEventListener('click', () => this.zoom(node, true));
			items.push(b);
		});
		nav.replaceChildren(...items);
	}

	// ---- search and highlights ------------------------------------------------

	applySearch() {
		const needle = this.search.trim().toLowerCase();
		const out = $('fg-search-result');
		if (!needle || !this.tree) {
			this.graph.highlight(null);
			out.textContent = '';
			return;
		}
		const t = this.tree;
		const share = this.graph.highlight((i) => t.functionName(i).toLowerCase().includes(needle) ||
			(t.fileName(i) ?? '').toLowerCase().includes(needle));
		let count = 0;
		for (let i = 0; i < t.n; i++)
			count += this.graph.matches[i];
		out.textContent = `${count} frames, ${(100 * share).toFixed(1)}% of the total`;
	}

	highlightFunction(row) {
		const t = this.tree;
		if (!t)
			return;
		this.graph.highlight((i) => t.functionName(i) === row.function &&
			t.fileName(i) === row.file && (row.line == null || t.line[i] === row.line));
	}

	// ---- top functions --------------------------------------------------------

	renderTop(unit) {
		const body = $('fg-top-body');
		const { key, dir } = this.sort;
		const rows = [...this.topRows].sort((a, b) => {
			const x = a[key];
			const y = b[key];
			return (typeof x === 'string' ? String(x).localeCompare(String(y)) : (x ?? 0) - (y ?? 0)) * dir;
		});
		const root = this.tree ? this.tree.total[0] : 0;
		const pct = (v) => (root > 0 ? ` (${(100 * v / root).toFixed(1)}%)` : '');
		body.replaceChildren(...rows.map((row) => {
			const tr = element('tr');
			tr.append(element('td', 'fn', row.function),
				element('td', 'file', row.file == null ? '' : `${row.file}:${row.line}`),
				element('td', 'num', formatValue(row.self, unit) + pct(row.self)),
				element('td', 'num', formatValue(row.total, unit) + pct(row.total)));
			tr.addEventListener('mouseenter', () => this.highlightFunction(row));
			tr.addEventListener('mouseleave', () => this.applySearch());
			tr.addEventListener('click', () => {
				this.search = row.function;
				$('fg-search').value = row.function;
				this.applySearch();
				this.changed();
			});
			return tr;
		}));
		for (const th of document.querySelectorAll('#fg-top th[data-key]'))
			th.setAttribute('aria-sort', th.dataset.key === key ? (dir < 0 ? 'descending' : 'ascending') : 'none');
	}

	// ---- diff: the largest changes ----------------------------------------------

	renderChanges() {
		const panel = $('fg-changes');
		const t = this.tree;
		panel.hidden = !(t && t.diff);
		if (panel.hidden)
			return;
		// Self shares by function, each side normalised to its own total.
		const a = t.total[0] || 1;
		const b = t.baseTotal[0] || 1;
		const byFunction = new Map();
		for (let i = 1; i < t.n; i++) {
			const key = t.frameLabel(i);
			const e = byFunction.get(key) ?? { fn: t.functionName(i), label: key, now: 0, before: 0 };
			e.now += t.self[i] / a;
			e.before += t.baseSelf[i] / b;
			byFunction.set(key, e);
		}
		const rows = [...byFunction.values()].filter((e) => e.now !== e.before)
			.sort((x, y) => Math.abs(y.now - y.before) - Math.abs(x.now - x.before)).slice(0, 20);
		$('fg-changes-body').replaceChildren(...rows.map((e) => {
			const tr = element('tr', e.now > e.before ? 'grew' : 'shrank');
			const change = 100 * (e.now - e.before);
			tr.append(element('td', 'fn', e.fn), element('td', 'num', `${(100 * e.before).toFixed(1)}%`),
				element('td', 'num', `${(100 * e.now).toFixed(1)}%`),
				element('td', 'num', `${change >= 0 ? '+' : ''}${change.toFixed(1)}`));
			tr.title = e.label;
			return tr;
		}));
	}

	// ---- allocations of the zoomed frame ------------------------------------------

	async renderAllocations() {
		const panel = $('fg-allocs');
		const t = this.tree;
		const node = this.graph.focus;
		if (!t || node === 0) {
			panel.hidden = true;
			return;
		}
		panel.hidden = false;
		const fn = t.functionName(node);
		const weight = this.effectiveWeight() === 'inuse' ? 'inuse' : 'alloc';
		$('fg-allocs-title').textContent = `${weight === 'inuse' ? 'In use' : 'Allocated'} in ${fn}, by type`;
		const list = $('fg-allocs-body');
		if (!(this.info.alloc_samples > 0)) {
			list.replaceChildren(element('p', 'muted', 'This run has no allocation samples.'));
			return;
		}
		const { from, to } = this.window();
		const run = this.run;
		try {
			const answer = await fetchAllocations(run, { from, to, weight, fn });
			if (run !== this.run || this.graph.focus !== node)
				return;
			const max = Math.max(1, ...answer.types.map((r) => r.bytes));
			const rows = answer.types.map((r) => {
				const row = element('div', 'alloc-row');
				const bar = element('div', 'alloc-bar');
				bar.style.width = `${(100 * r.bytes / max).toFixed(1)}%`;
				row.append(element('span', 'alloc-type', r.type), bar,
					element('span', 'alloc-value', `${formatValue(r.bytes, 'bytes')} in ${Number(r.count).toLocaleString()} samples`));
				return row;
			});
			list.replaceChildren(...(rows.length ? rows : [element('p', 'muted', 'No sampled allocations in this frame.')]));
			panel.dataset.function = fn;
			panel.dataset.loaded = String(performance.now());
		} catch (e) {
			list.replaceChildren(element('p', 'error', `Cannot load allocations: ${e.message}`));
		}
	}

	// ---- the memory chart's stacks ------------------------------------------------

	// The cursor is over the memory chart at ts (epoch seconds).
	hoverAt(metric, ts) {
		if (metric !== MEMORY_METRIC || !this.hasProfile() || this.pinned != null || ts == null)
			return;
		this.stackWanted = ts;
		if (!this.stackBusy)
			this.fetchWantedStack();
	}

	// The memory chart was clicked at ts: pin (or move the pin).
	pinAt(metric, ts) {
		if (metric !== MEMORY_METRIC || !this.hasProfile() || ts == null)
			return;
		this.pinned = ts;
		this.changed();
		this.showStackAt(ts);
	}

	unpin() {
		this.pinned = null;
		this.changed();
		$('fg-unpin').hidden = true;
	}

	// One request at a time; the newest position wins.
	async fetchWantedStack() {
		this.stackBusy = true;
		while (this.stackWanted != null) {
			const ts = this.stackWanted;
			this.stackWanted = null;
			await this.showStackAt(ts);
		}
		this.stackBusy = false;
	}

	async showStackAt(ts) {
		const run = this.run;
		try {
			const answer = await fetchStackAt(run, ts, this.thread);
			if (run === this.run)
				this.renderStack(answer);
		} catch (e) {
			$('fg-stack-title').textContent = `Cannot load the stack: ${e.message}`;
		}
	}

	renderStack(answer) {
		const panel = $('fg-stack');
		panel.hidden = answer == null;
		if (answer == null)
			return;
		$('fg-unpin').hidden = this.pinned == null;
		const title = $('fg-stack-title');
		if (answer.sampled_at == null) {
			title.textContent = 'No stack sample near this moment';
			$('fg-stack-body').replaceChildren();
			return;
		}
		const rss = answer.rss_bytes != null ? `, RSS ${formatValue(answer.rss_bytes, 'bytes')}` : '';
		title.textContent = `Stack of ${answer.thread ?? 'a thread'} at ${timeText(answer.sampled_at)}${rss}`;
		$('fg-stack-body').replaceChildren(...answer.frames.map((f) => {
			const li = element('li');
			li.append(element('span', 'fn', f.function ?? '?'),
				element('span', 'file', f.file == null ? '' : ` ${f.file}:${f.line}`));
			return li;
		}));
		panel.dataset.sampledAt = String(answer.sampled_at);
	}

	// ---- controls ----------------------------------------------------------------

	bindControls() {
		$('fg-weight').addEventListener('change', (e) => {
			this.weight = e.target.value;
			this.changed();
			this.load();
		});
		$('fg-thread').addEventListener('change', (e) => {
			this.thread = e.target.value || null;
			this.focusPath = [];
			this.changed();
			this.load();
		});
		$('fg-memory').addEventListener('change', (e) => {
			this.memory = e.target.checked;
			this.changed();
			this.load();
		});
		let typing = null;
		$('fg-search').addEventListener('input', (e) => {
			this.search = e.target.value;
			this.applySearch();
			clearTimeout(typing);
			typing = setTimeout(() => this.changed(), 400);
		});
		$('fg-diff').addEventListener('change', (e) => this.chooseBase(e.target.value));
		for (const th of document.querySelectorAll('#fg-top th[data-key]'))
			th.addEventListener('click', () => {
				const key = th.dataset.key;
				this.sort = { key, dir: this.sort.key === key ? -this.sort.dir : (key === 'function' || key === 'file' ? 1 : -1) };
				this.renderTop(this.tree?.unit);
			});
		$('fg-unpin').addEventListener('click', () => this.unpin());
		$('fg-import-form').addEventListener('submit', (e) => {
			e.preventDefault();
			this.importFile();
		});
	}

	// value: '' (no diff), 'window' (this run, the window now shown), or a run.
	chooseBase(value) {
		if (!value) {
			this.base = null;
			this.baseRange = null;
		} else if (value === 'window') {
			this.base = this.run;
			this.baseRange = this.range ?? this.getSpan();
		} else {
			this.base = value;
			this.baseRange = null;
		}
		this.focusPath = [];
		this.changed();
		this.fillControls();
		this.load();
	}

	fillControls() {
		$('fg-weight').value = this.effectiveWeight();
		$('fg-memory').checked = this.memory;
		$('fg-memory').disabled = !!this.base;
		this.fillThreads();
		$('fg-search').value = this.search;
		const options = [new Option('(none)', ''), new Option('a window of this run: the one shown now', 'window')];
		for (const run of this.siblings) {
			if (run.run === this.run)
				continue;
			options.push(new Option(`run of ${formatWhen(run.started ?? run.last_seen)} (${formatDuration(run.duration)})`, run.run));
		}
		if (this.base && this.base !== this.run && !options.some((o) => o.value === this.base))
			options.push(new Option(`run ${this.base}`, this.base));
		const select = $('fg-diff');
		select.replaceChildren(...options);
		select.value = this.base == null ? '' : (this.base === this.run ? 'window' : this.base);
		$('fg-base-window').textContent = this.base === this.run && this.baseRange
			? `base: ${timeText(this.baseRange[0])} – ${timeText(this.baseRange[1])}; drag on a chart to pick the window to compare`
			: '';
		if (!$('fg-import-tracer').value && this.info?.tracer)
			$('fg-import-tracer').value = this.info.tracer;
	}

	// The thread choices of this run, asked once per run.
	async loadThreads(run) {
		if (this.threads?.run === run)
			return;
		this.threads = { run, list: [] };
		this.fillThreads();
		try {
			const answer = await fetchThreads(run);
			if (this.threads?.run === run) {
				this.threads.list = answer.threads;
				this.fillThreads();
			}
		} catch (e) {
			// the picker keeps "every thread" only; the flame graph says what failed
		}
	}

	fillThreads() {
		const select = $('fg-thread');
		const list = this.threads?.run === this.run ? this.threads.list : [];
		const options = [new Option('every thread', '')];
		for (const t of list) {
			if (t.samples > 0)
				options.push(new Option(`${t.thread} (${t.samples.toLocaleString('en')} samples, ${t.cpu_seconds.toFixed(1)} s on CPU)`, t.thread));
		}
		if (this.thread && !list.some((t) => t.thread === this.thread))
			options.push(new Option(this.thread, this.thread));
		select.replaceChildren(...options);
		select.value = this.thread ?? '';
		select.disabled = !!this.base;
		select.title = this.base ? 'a diff compares every thread' : '';
	}

	updateExportLinks() {
		const { from, to } = this.window();
		const weight = this.effectiveWeight();
		for (const format of ['speedscope', 'pprof', 'collapsed'])
			$(`fg-export-${format}`).href = profileExportUrl(this.run, { from, to, weight, format });
	}

	async importFile() {
		const file = $('fg-import-file').files[0];
		const tracer = $('fg-import-tracer').value.trim();
		const token = $('fg-import-token').value;
		const out = $('fg-import-status');
		if (!file || !tracer) {
			out.textContent = 'Choose a file and a tracer.';
			return;
		}
		out.textContent = 'Uploading…';
		try {
			const answer = await importProfile(tracer, file, token);
			out.textContent = `Imported as a ${answer.format} profile: run ${answer.run}`;
			if (this.onImported)
				this.onImported(answer.run);
		} catch (e) {
			out.textContent = `Import failed: ${e.message}`;
		}
	}
}
