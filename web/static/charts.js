// charts.js: one uPlot chart per metric, with a shared cursor and one
// x range for all.  Dragging selects a range and hands it to onZoom (the app
// re-queries at the chart's pixel width); double-click calls onReset.
// onCursor(metric, ts) follows the cursor over a chart's points, and
// onPick(metric, ts) a click that is not a drag.
//
// A run may have hundreds of metrics: layout() lays out a slot per metric,
// in groups, and asks for data (onNeed) only for the slots near the view,
// as they scroll in; fill() draws what arrived.  Charts drawn stay while
// the layout keeps their metric.

import uPlot from './vendor/uPlot.esm.js';

const HEIGHT = 170;
const MAIN_STROKE = '#1f6feb';
const COMPARE_STROKE = '#e8590c';
// Slots asked for at once whatever their place: about a screen and a half.
const EAGER = 12;
// How far beyond the view a slot starts loading.
const NEAR = '600px 0px';

export class ChartSet {
	constructor(container, { onZoom, onReset, onCursor, onPick }) {
		this.container = container;
		this.onZoom = onZoom;
		this.onReset = onReset;
		this.onCursor = onCursor;
		this.onPick = onPick;
		this.charts = new Map();	// metric -> { plot, element, data }: drawn charts
		this.slots = new Map();		// metric -> { element, stale, loading }
		this.sync = uPlot.sync('mnemic');
		this.compareLabel = null;
		this.onNeed = null;
		this.wanted = new Set();	// metrics to ask for in the next batch
		this.observer = new IntersectionObserver((entries) => this.seen(entries), { rootMargin: NEAR });
		this.resizeObserver = new ResizeObserver(() => this.resize());
		this.resizeObserver.observe(container);
	}

	// CSS pixels the plot area of a chart is wide: how many points to ask for.
	plotWidth() {
		for (const c of this.charts.values())
			return Math.max(50, Math.round(c.plot.bbox.width / devicePixelRatio));
		return Math.max(200, this.container.clientWidth - 80);
	}

	chartWidth() {
		return Math.max(300, this.container.clientWidth - 10);
	}

	clear() {
		this.observer.disconnect();
		for (const c of this.charts.values())
			c.plot.destroy();
		this.charts.clear();
		this.slots.clear();
		this.wanted.clear();
		this.container.replaceChildren();
	}

	has(metric) {
		return this.slots.has(metric);
	}

	// Slots for groups [{name, metrics}] (a heading each when there are
	// several), in order.  Every slot needs data again (a new range, a new
	// compared run); onNeed(metrics) is called, in batches, for those near
	// the view.  compareLabel: the overlaid run's label, or null.
	layout(groups, compareLabel, onNeed) {
		const names = groups.flatMap((g) => g.metrics);
		const keep = new Set(names);
		if (compareLabel !== this.compareLabel) {
			this.clear();
			this.compareLabel = compareLabel;
		}
		this.observer.disconnect();
		for (const [metric, chart] of this.charts)
			if (!keep.has(metric)) {
				chart.plot.destroy();
				this.charts.delete(metric);
			}
		const elements = [];
		const slots = new Map();
		for (const group of groups) {
			if (groups.length > 1) {
				const heading = document.createElement('h3');
				heading.className = 'chart-group';
				heading.textContent = `${group.name} (${group.metrics.length})`;
				elements.push(heading);
			}
			for (const metric of group.metrics) {
				const slot = this.slots.get(metric) ?? this.makeSlot(metric);
				slot.stale = true;
				slot.loading = false;
				slots.set(metric, slot);
				elements.push(slot.element);
			}
		}
		this.slots = slots;
		this.wanted.clear();
		this.onNeed = onNeed;
		this.container.replaceChildren(...elements);
		names.slice(0, EAGER).forEach((m) => this.want(m));
		for (const slot of this.slots.values())
			this.observer.observe(slot.element);
	}

	makeSlot(metric) {
		const element = document.createElement('div');
		element.className = 'chart pending';
		element.dataset.metric = metric;
		const title = document.createElement('div');
		title.className = 'chart-title';
		title.textContent = metric;
		element.append(title);
		return { element, stale: true, loading: false };
	}

	seen(entries) {
		for (const e of entries)
			if (e.isIntersecting)
				this.want(e.target.dataset.metric);
	}

	// Ask for a slot's data in the next batch, unless it is fresh or asked.
	want(metric) {
		const slot = this.slots.get(metric);
		if (!slot || !slot.stale || slot.loading)
			return;
		slot.loading = true;
		if (this.wanted.size === 0)
			queueMicrotask(() => this.flush());
		this.wanted.add(metric);
	}

	flush() {
		const batch = [...this.wanted];
		this.wanted.clear();
		if (batch.length && this.onNeed)
			this.onNeed(batch);
	}

	// series: [{metric, ts, value}]; compare: null or {label, byMetric: Map(metric -> {ts, value})}
	// with ts already shifted onto this run's time.  range: null or [from, to].
	// Draws into the slots of the layout; a metric without one is skipped.
	fill(series, compare, range) {
		for (const s of series) {
			const slot = this.slots.get(s.metric);
			if (!slot)
				continue;
			const data = alignedData(s, compare ? compare.byMetric.get(s.metric) : null);
			let chart = this.charts.get(s.metric);
			if (!chart) {
				chart = this.createChart(slot.element, s.metric, data, this.compareLabel);
				this.charts.set(s.metric, chart);
			} else {
				chart.data = data;
				chart.plot.setData(data, range == null);
			}
			if (range != null)
				chart.plot.setScale('x', { min: range[0], max: range[1] });
			slot.stale = false;
			slot.loading = false;
			slot.element.classList.remove('pending');
			this.markDrawn(chart);
		}
	}

	// A batch that could not be drawn may be asked for again.
	failed(metrics) {
		for (const m of metrics) {
			const slot = this.slots.get(m);
			if (slot)
				slot.loading = false;
		}
	}

	// Live points: append to each metric's data (no compare while live).
	append(series) {
		let added = 0;
		for (const s of series) {
			const chart = this.charts.get(s.metric);
			if (!chart || s.ts.length === 0)
				continue;
			const [xs, ys, ...rest] = chart.data;
			const lastX = xs.length ? xs[xs.length - 1] : -Infinity;
			for (let i = 0; i < s.ts.length; i++) {
				if (s.ts[i] <= lastX)
					continue;
				xs.push(s.ts[i]);
				ys.push(s.value[i]);
				for (const r of rest)
					r.push(undefined);
				added++;
			}
			chart.plot.setData(chart.data, true);
			this.markDrawn(chart);
		}
		return added;
	}

	// The newest timestamp drawn, for tailing.
	lastTimestamp() {
		let last = null;
		for (const c of this.charts.values()) {
			const xs = c.data[0];
			if (xs.length && (last == null || xs[xs.length - 1] > last))
				last = xs[xs.length - 1];
		}
		return last;
	}

	pointCount() {
		let n = 0;
		for (const c of this.charts.values())
			n += c.data[0].length;
		return n;
	}

	markDrawn(chart) {
		chart.element.dataset.points = String(chart.data[1].filter((v) => v != null).length);
		chart.element.dataset.drawn = String(performance.now());
	}

	createChart(element, metric, data, compareLabel) {

		const series = [
			{},
			{ label: metric, stroke: MAIN_STROKE, width: 1.25, spanGaps: false, points: { show: false } },
		];
		if (compareLabel)
			series.push({ label: compareLabel, stroke: COMPARE_STROKE, width: 1, dash: [5, 3], spanGaps: false, points: { show: false } });

		const opts = {
			width: this.chartWidth(),
			height: HEIGHT,
			scales: { x: { time: true } },
			series,
			axes: [{}, { size: 64, values: (u, ticks) => ticks.map(compactNumber) }],
			cursor: {
				sync: { key: this.sync.key, setSeries: false },
				drag: { x: true, y: false, setScale: false },
				// Our double-click resets by re-querying (onReset), not just rescaling.
				bind: { dblclick: () => () => null },
			},
			hooks: {
				setSelect: [(u) => this.selected(u)],
				setCursor: [(u) => {
					if (this.onCursor && u.cursor.idx != null)
						this.onCursor(metric, u.data[0][u.cursor.idx]);
				}],
			},
		};
		const plot = new uPlot(opts, data, element);
		plot.over.addEventListener('dblclick', () => this.onReset());
		let downAt = null;
		plot.over.addEventListener('mousedown', (e) => { downAt = e.clientX; });
		plot.over.addEventListener('click', (e) => {
			if (this.onPick && downAt != null && Math.abs(e.clientX - downAt) < 3 && plot.cursor.idx != null)
				this.onPick(metric, plot.data[0][plot.cursor.idx]);
		});
		return { plot, element, data };
	}

	selected(u) {
		const { left, width } = u.select;
		if (width < 3)
			return;
		const from = u.posToVal(left, 'x');
		const to = u.posToVal(left + width, 'x');
		u.setSelect({ left: 0, top: 0, width: 0, height: 0 }, false);
		this.onZoom(from, to);
	}

	resize() {
		const width = this.chartWidth();
		for (const c of this.charts.values())
			if (Math.abs(c.plot.width - width) > 2)
				c.plot.setSize({ width, height: HEIGHT });
	}
}

// Axis labels that fit: 104.2M rather than 104,200,000 (a memory chart).
function compactNumber(v) {
	const a = Math.abs(v);
	for (const [scale, suffix] of [[1e12, 'T'], [1e9, 'G'], [1e6, 'M'], [1e4, 'k']])
		if (a >= scale)
			return `${+(v / scale).toFixed(2)}${suffix}`;
	return `${+v.toFixed(6)}`;
}

// uPlot wants [xs, ys] (plus the compare run's ys on the same xs).
function alignedData(main, compare) {
	const own = [main.ts.slice(), main.value.slice()];
	if (!compare)
		return own;
	// NULL_EXPAND (2) keeps gaps as gaps after the x values are merged.
	return uPlot.join([own, [compare.ts, compare.value]], [[0, 2], [0, 2]]);
}
