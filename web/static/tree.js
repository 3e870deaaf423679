// tree.js: the sidebar.  Tracers first, with their counts; the runs of a
// tracer when it is opened, newest first, a page at a time.  Refreshes ask
// only for what changed since the last answer (its cursor).  Every name
// from the data goes in through textContent, never as HTML.

import { fetchRunsPage, fetchTracers } from './api.js';
import { formatDuration, formatWhen } from './format.js';

const PAGE = 50;
const UNNAMED = '(unnamed)';

// The filter box: words match tracer names; key:value words filter runs.
// Values may be quoted ("a b").  Unknown keys count as name words.
const RUN_KEYS = { host: 'host', program: 'program', state: 'state', from: 'from', to: 'to' };

export function parseFilter(text) {
	const filter = { name: [], runs: {} };
	const words = (text ?? '').match(/(?:[^\s"]+|"[^"]*")+/g) ?? [];
	for (const word of words) {
		const m = /^([a-z]+):(.*)$/i.exec(word);
		const key = m && RUN_KEYS[m[1].toLowerCase()];
		const unquote = (s) => s.replace(/^"(.*)"$/, '$1');
		if (key && m[2] !== '')
			filter.runs[key] = unquote(m[2]);
		else
			filter.name.push(unquote(word));
	}
	return { name: filter.name.join(' ') || null, runs: filter.runs };
}

const keyOf = (tracer) => tracer ?? UNNAMED;

// Listing order: started, then run, both descending.
function newerFirst(a, b) {
	const ta = Date.parse(a.started);
	const tb = Date.parse(b.started);
	if (ta !== tb)
		return tb - ta;
	return a.run < b.run ? 1 : a.run > b.run ? -1 : 0;
}

function span(className, text) {
	const s = document.createElement('span');
	s.className = className;
	s.textContent = text;
	return s;
}

function matchesState(run, runFilter) {
	return !runFilter.state || run.state === runFilter.state;
}

export class Sidebar {
	// onSelect(uuid) when a run is clicked.
	constructor(container, { onSelect, onError }) {
		this.container = container;
		this.onSelect = onSelect;
		this.onError = onError;
		this.tracers = new Map();	// key -> {row, li, open, runs, next, pinned, ...}
		this.filter = parseFilter('');
		this.cursor = null;
		this.loaded = false;
		this.selected = null;
		this.generation = 0;		// drops answers to a superseded filter
	}

	// (Re)load the tracers for the filter text; opened tracers stay open.
	async load(filterText) {
		const generation = ++this.generation;
		this.filter = parseFilter(filterText);
		const answer = await fetchTracers({ name: this.filter.name, ...this.filter.runs });
		if (generation !== this.generation)
			return;
		const open = new Set([...this.tracers].filter(([, t]) => t.open).map(([k]) => k));
		this.tracers.clear();
		this.container.replaceChildren();
		for (const row of answer.tracers)
			this.container.append(this.upsertTracer(row, false).li);
		this.cursor = answer.cursor;
		this.loaded = true;
		document.body.dataset.treeDrawn = String(performance.now());
		if (this.tracers.size === 1)
			open.add(this.tracers.keys().next().value);
		await Promise.all([...open].filter((k) => this.tracers.has(k)).map((k) => this.openTracer(k)));
	}

	get size() {
		return this.tracers.size;
	}

	// ---- tracers ----------------------------------------------------

	// The tracer's item, made (and put in its place, unless place is
	// false) if new, and its head drawn from row.
	upsertTracer(row, place = true) {
		const key = keyOf(row.tracer);
		let t = this.tracers.get(key);
		if (!t) {
			t = { key, row, open: false, runs: [], next: undefined, pinned: null, loading: null };
			t.li = document.createElement('li');
			t.li.className = 'tracer collapsed';
			t.li.dataset.tracer = key;
			t.label = document.createElement('button');
			t.label.type = 'button';
			t.label.className = 'tracer-head';
			t.label.addEventListener('click', () => this.toggle(key));
			t.list = document.createElement('ul');
			t.list.className = 'runs';
			t.li.append(t.label, t.list);
			this.tracers.set(key, t);
			if (place)
				this.placeTracer(t);
		}
		t.row = row;
		this.drawTracerHead(t);
		return t;
	}

	// Tracers by name as the server orders them, unnamed last.
	placeTracer(t) {
		const after = [...this.container.children].find((li) => {
			const other = li.dataset.tracer;
			if (t.key === UNNAMED)
				return false;
			return other === UNNAMED || other > t.key;
		});
		this.container.insertBefore(t.li, after ?? null);
	}

	drawTracerHead(t) {
		const { row } = t;
		const name = span('tracer-name', row.tracer ?? UNNAMED);
		const counts = span('tracer-counts', `${row.runs} run${row.runs === 1 ? '' : 's'}`);
		const parts = [name, counts];
		if (row.active_runs > 0)
			parts.push(span('live', `${row.active_runs} live`));
		const seen = span('tracer-seen', row.last_seen ? `last seen ${formatWhen(row.last_seen)}` : '');
		t.label.replaceChildren(...parts, seen);
		t.label.title = row.tracer ?? 'runs whose tracer is not known yet';
		t.label.setAttribute('aria-expanded', String(t.open));
	}

	async toggle(key) {
		const t = this.tracers.get(key);
		if (!t)
			return;
		if (t.open) {
			t.open = false;
			t.li.classList.add('collapsed');
			t.label.setAttribute('aria-expanded', 'false');
		} else
			await this.openTracer(key);
	}

	async openTracer(key) {
		const t = this.tracers.get(key);
		if (!t)
			return;
		t.open = true;
		t.li.classList.remove('collapsed');
		t.label.setAttribute('aria-expanded', 'true');
		if (t.next === undefined)
			await this.loadPage(t, true);
	}

	// ---- runs -------------------------------------------------------

	pageQuery(t, extra = {}) {
		const q = { ...this.filter.runs, ...extra };
		if (t.key === UNNAMED)
			q.unnamed = 'true';
		else
			q.tracer = t.key;
		return q;
	}

	// The first page (fresh) or the next one.
	async loadPage(t, fresh) {
		if (t.loading)
			return t.loading;
		const generation = this.generation;
		const after = fresh || !t.next ? {} : t.next;
		t.loading = fetchRunsPage(this.pageQuery(t, { ...after, limit: PAGE }))
			.then((answer) => {
				if (generation !== this.generation)
					return;
				if (fresh)
					t.runs = [];
				const known = new Set(t.runs.map((r) => r.run));
				t.runs.push(...answer.runs.filter((r) => !known.has(r.run)));
				t.next = answer.next;
				this.drawRuns(t);
			})
			.catch((e) => this.onError(`Cannot list runs: ${e.message}`))
			.finally(() => { t.loading = null; });
		return t.loading;
	}

	drawRuns(t) {
		const items = [];
		if (t.pinned && !t.runs.some((r) => r.run === t.pinned.run)) {
			const li = this.runItem(t.pinned);
			li.classList.add('pinned');
			li.title = 'the run shown, older than the runs listed';
			items.push(li);
		}
		for (const run of t.runs)
			items.push(this.runItem(run));
		if (t.next) {
			const li = document.createElement('li');
			li.className = 'more';
			const more = document.createElement('button');
			more.type = 'button';
			more.textContent = 'more';
			more.addEventListener('click', () => this.loadPage(t, false));
			li.append(more);
			items.push(li);
		} else if (t.runs.length === 0 && !t.pinned)
			items.push(Object.assign(document.createElement('li'), {
				className: 'no-runs', textContent: 'no runs match',
			}));
		t.list.replaceChildren(...items);
	}

	runItem(run) {
		const li = document.createElement('li');
		li.className = 'run-item';
		li.dataset.run = run.run;
		if (run.run === this.selected)
			li.classList.add('selected');
		const button = document.createElement('button');
		button.type = 'button';
		button.title = run.run;
		const top = document.createElement('span');
		top.className = 'run-top';
		top.append(span('run-when', formatWhen(run.started ?? run.last_seen)),
			span('run-dur', formatDuration(run.duration)));
		if (run.state === 'active')
			top.append(span('live', 'live'));
		const where = [run.host, run.pid != null ? `pid ${run.pid}` : null, run.program]
			.filter((x) => x != null && x !== '');
		button.append(top);
		if (where.length)
			button.append(span('run-where', where.join(' · ')));
		button.addEventListener('click', () => this.onSelect(run.run));
		li.append(button);
		return li;
	}

	// The runs of a tracer the sidebar has loaded, newest first.
	runsOf(tracer) {
		return this.tracers.get(keyOf(tracer))?.runs ?? [];
	}

	// ---- the run shown ------------------------------------------------

	select(uuid) {
		this.selected = uuid;
		for (const li of this.container.querySelectorAll('.run-item'))
			li.classList.toggle('selected', li.dataset.run === uuid);
	}

	// Open the tracer of the run shown; a run older than the loaded pages
	// is pinned at the top of its tracer's list.
	async reveal(info) {
		this.select(info.run);
		for (const other of this.tracers.values())
			if (other.pinned && other.pinned.run !== info.run) {
				other.pinned = null;
				this.drawRuns(other);
			}
		const t = this.tracers.get(keyOf(info.tracer));
		if (!t)
			return;
		await this.openTracer(t.key);
		t.pinned = { ...info, started: info.started ?? info.first_seen };
		this.drawRuns(t);
		t.li.querySelector(`.run-item[data-run="${CSS.escape(info.run)}"]`)?.scrollIntoView({ block: 'nearest' });
	}

	// ---- refresh ----------------------------------------------------

	// Ask what changed since the last answer; returns the tracer keys whose
	// rows changed (null when it could not tell).
	async refresh() {
		if (!this.loaded)
			return null;
		if (this.cursor == null)
			return this.refreshWhole();
		const generation = this.generation;
		const since = this.cursor;
		const answer = await fetchTracers({ name: this.filter.name, ...this.filter.runs, changed_since: since });
		if (generation !== this.generation)
			return null;
		const changed = new Set();
		const reloads = [];
		for (const row of answer.tracers) {
			const key = keyOf(row.tracer);
			const before = this.tracers.get(key)?.row;
			changed.add(key);
			const t = this.upsertTracer(row);
			if (!t.open || t.next === undefined)
				continue;
			// Fewer runs than before: some were deleted, which no change
			// lists; read the loaded pages again.
			if (before && row.runs < before.runs)
				reloads.push(this.loadPage(t, true));
			else
				reloads.push(this.mergeChanges(t, since));
		}
		await Promise.all(reloads);
		if (generation === this.generation)
			this.cursor = answer.cursor;
		return changed;
	}

	// Without a cursor (a coordinator's answers have none), the tracers and
	// the first page of each open tracer are asked for again and merged in
	// place.  Returns null: anything may have changed.
	async refreshWhole() {
		const generation = this.generation;
		const answer = await fetchTracers({ name: this.filter.name, ...this.filter.runs });
		if (generation !== this.generation)
			return null;
		const listed = new Set();
		const pages = [];
		for (const row of answer.tracers) {
			listed.add(keyOf(row.tracer));
			const t = this.upsertTracer(row);
			if (t.open && t.next !== undefined)
				pages.push(fetchRunsPage(this.pageQuery(t, { limit: PAGE })).then((page) => {
					if (generation !== this.generation)
						return;
					const fresh = new Set(page.runs.map((r) => r.run));
					const last = page.runs[page.runs.length - 1];
					// Loaded pages beyond the first stay as they were.
					const older = t.runs.filter((r) => !fresh.has(r.run) && last && newerFirst(r, last) > 0);
					t.runs = [...page.runs, ...(page.next ? older : [])];
					if (!page.next)
						t.next = null;
					this.drawRuns(t);
				}));
		}
		for (const [key, t] of this.tracers)
			if (!listed.has(key)) {
				t.li.remove();
				this.tracers.delete(key);
			}
		await Promise.all(pages);
		return null;
	}

	// The runs of an open tracer changed since the cursor, merged into its
	// list in their place.  The state filter is applied here, not by the
	// server, so that a run that left that state leaves the list.
	async mergeChanges(t, since) {
		const { state, ...rest } = this.filter.runs;
		const q = { ...rest, changed_since: since, limit: 1000 };
		if (t.key === UNNAMED)
			q.unnamed = 'true';
		else
			q.tracer = t.key;
		const answer = await fetchRunsPage(q);
		if (answer.next)		// too much changed: start over
			return this.loadPage(t, true);
		const last = t.runs[t.runs.length - 1];
		for (const run of answer.runs) {
			const i = t.runs.findIndex((r) => r.run === run.run);
			if (i >= 0)
				t.runs.splice(i, 1);
			if (!matchesState(run, this.filter.runs))
				continue;
			// Beyond the loaded pages, it comes with "more".
			if (t.next && last && newerFirst(run, last) > 0)
				continue;
			const at = t.runs.findIndex((r) => newerFirst(run, r) < 0);
			t.runs.splice(at < 0 ? t.runs.length : at, 0, run);
		}
		if (t.pinned) {
			const fresh = answer.runs.find((r) => r.run === t.pinned.run);
			if (fresh)
				t.pinned = fresh;
		}
		this.drawRuns(t);
	}
}
