// flamegraph.js: a flame graph drawn on a canvas, root on top (an icicle).
//
// The tree comes as mnemic-web sends it: columns of the nodes in depth-first
// order (parent before child, siblings left to right) and the names they
// index.  Layout is one pass over typed arrays; a draw visits nodes in the
// same order and skips a whole subtree as soon as its node is too narrow or
// outside the view, so the cost follows what is visible, not the tree size.
// Names reach the page only through fillText and textContent.

const ROW = 18;			// CSS pixels per depth
const MIN_WIDTH = 0.35;	// narrower nodes (and their subtrees) are not drawn
const TEXT_MIN = 28;	// no label on nodes narrower than this
const FONT = '12px ui-monospace, "DejaVu Sans Mono", monospace';

// The tree of an answer of /flamegraph or /flamegraph/diff.
export class FlameTree {
	constructor(answer) {
		const n = answer.nodes;
		this.n = n;
		this.names = answer.names;
		this.unit = answer.unit;
		this.weight = answer.weight;
		this.diff = 'base_total' in answer;
		this.parent = Int32Array.from(answer.parent);
		this.depth = Int32Array.from(answer.depth);
		this.fn = Int32Array.from(answer.function);
		this.file = Int32Array.from(answer.file);
		this.line = answer.line;
		this.self = Float64Array.from(answer.self);
		this.total = Float64Array.from(answer.total);
		if (this.diff) {
			this.baseSelf = Float64Array.from(answer.base_self);
			this.baseTotal = Float64Array.from(answer.base_total);
		}
		this.layout();
	}

	// x: where each node starts, in weight from the root's left edge;
	// end: the index after its subtree; rows: nodes per depth, left to right.
	layout() {
		const { n, parent, depth, total } = this;
		this.x = new Float64Array(n);
		this.end = new Int32Array(n);
		const cursor = new Float64Array(n);
		const open = [];
		let maxDepth = 0;
		for (let i = 0; i < n; i++) {
			const p = parent[i];
			if (p >= 0) {
				this.x[i] = cursor[p];
				cursor[p] += total[i];
			}
			cursor[i] = this.x[i];
			while (open.length && depth[open[open.length - 1]] >= depth[i])
				this.end[open.pop()] = i;
			open.push(i);
			if (depth[i] > maxDepth)
				maxDepth = depth[i];
		}
		while (open.length)
			this.end[open.pop()] = n;
		this.maxDepth = maxDepth;
		this.rows = Array.from({ length: maxDepth + 1 }, () => []);
		for (let i = 0; i < n; i++)
			this.rows[depth[i]].push(i);
	}

	functionName(i) { return this.names[this.fn[i]]; }
	fileName(i) { return this.file[i] < 0 ? null : this.names[this.file[i]]; }

	// "function (file:line)", the label of a frame in the folded format.
	frameLabel(i) {
		const file = this.fileName(i);
		return file == null ? this.functionName(i) : `${this.functionName(i)} (${file}:${this.line[i]})`;
	}

	// Ancestors of i from the root's child down to i.
	pathTo(i) {
		const path = [];
		for (let k = i; k > 0; k = this.parent[k])
			path.push(k);
		return path.reverse();
	}

	// The node reached by following frame labels from the root, or the
	// deepest one that exists.
	find(labels) {
		let node = 0;
		for (const label of labels) {
			let next = -1;
			for (let c = node + 1; c < this.end[node]; c = this.end[c])
				if (this.frameLabel(c) === label) {
					next = c;
					break;
				}
			if (next < 0)
				break;
			node = next;
		}
		return node;
	}

	// A key per node that names its path, to match nodes of two trees.
	pathKeys() {
		const keys = new Array(this.n);
		keys[0] = '';
		for (let i = 1; i < this.n; i++)
			keys[i] = `${keys[this.parent[i]]}\n${this.functionName(i)}\t${this.fileName(i)}\t${this.line[i]}`;
		return keys;
	}
}

function hashString(s) {
	let h = 2166136261;
	for (let i = 0; i < s.length; i++)
		h = Math.imul(h ^ s.charCodeAt(i), 16777619);
	return h >>> 0;
}

// Warm colours by function name: the same function, the same colour.
function nameColour(name) {
	const h = hashString(name);
	const hue = 8 + (h % 48);
	const light = 52 + ((h >>> 8) % 14);
	return `hsl(${hue} 85% ${light}%)`;
}

// t in [0, 1]: green (0) through yellow to red (1).
function heatColour(t) {
	const hue = 120 - 120 * Math.max(0, Math.min(1, t));
	return `hsl(${hue.toFixed(0)} 70% 55%)`;
}

// d in [-1, 1]: blue (shrank) through white to red (grew).
function diffColour(d) {
	const a = Math.min(1, Math.abs(d));
	const light = (96 - 46 * a).toFixed(0);
	return d >= 0 ? `hsl(0 80% ${light}%)` : `hsl(220 80% ${light}%)`;
}

export class FlameGraph {
	// onFocus(node) when a frame is clicked (zoom), onHover(node or -1).
	constructor(container, { onFocus, onHover } = {}) {
		this.container = container;
		this.canvas = document.createElement('canvas');
		this.canvas.className = 'flamegraph-canvas';
		this.tooltip = document.createElement('div');
		this.tooltip.className = 'flamegraph-tooltip';
		this.tooltip.hidden = true;
		container.replaceChildren(this.canvas, this.tooltip);
		this.ctx = this.canvas.getContext('2d');
		this.onFocus = onFocus;
		this.onHover = onHover;
		this.tree = null;
		this.focus = 0;
		this.hover = -1;
		this.colourBy = 'name';	// 'name', 'memory', 'diff'
		this.memory = null;		// Float64Array: bytes allocated in each node (self)
		this.matches = null;	// Uint8Array: nodes to highlight, or null
		this.colours = null;
		this.lastDrawMs = 0;
		this.canvas.addEventListener('mousemove', (e) => this.mouseMove(e));
		this.canvas.addEventListener('mouseleave', () => this.setHover(-1, null));
		this.canvas.addEventListener('click', (e) => {
			const node = this.nodeAt(e);
			if (node >= 0 && this.onFocus)
				this.onFocus(node);
		});
		this.resizeObserver = new ResizeObserver(() => this.draw());
		this.resizeObserver.observe(container);
	}

	setTree(tree, focus = 0) {
		this.tree = tree;
		this.visible = null;
		this.focus = focus < tree.n ? focus : 0;
		this.hover = -1;
		this.colours = null;
		this.memory = null;
		this.matches = null;
		this.draw();
	}

	setFocus(node) {
		this.focus = node;
		this.draw();
	}

	// bytes[i] allocated in node i itself, or null: colour by memory.
	setMemory(bytes) {
		this.memory = bytes;
		this.colours = null;
		this.draw();
	}

	setColourBy(mode) {
		this.colourBy = mode;
		this.colours = null;
		this.draw();
	}

	// Highlight the nodes for which match(i) is true; null clears.
	highlight(match) {
		if (!this.tree)
			return 0;
		if (match == null) {
			this.matches = null;
			this.draw();
			return 0;
		}
		const t = this.tree;
		this.matches = new Uint8Array(t.n);
		// The weight of matching nodes, each counted once (not again below
		// a matching ancestor).
		let covered = 0;
		let inside = -1;
		for (let i = 0; i < t.n; i++) {
			if (inside >= 0 && i >= t.end[inside])
				inside = -1;
			if (i > 0 && match(i)) {
				this.matches[i] = 1;
				if (inside < 0) {
					covered += t.total[i];
					inside = i;
				}
			}
		}
		this.draw();
		return t.total[0] > 0 ? covered / t.total[0] : 0;
	}

	// A palette and each node's index in it, for the mode.  Colours are
	// few (one per function, or steps of a scale), so a draw sets each
	// colour once and fills all its rectangles as one path.
	computeColours() {
		const t = this.tree;
		const palette = [];
		const index = new Map();
		const colourOf = (c) => {
			let k = index.get(c);
			if (k === undefined) {
				k = palette.length;
				palette.push(c);
				index.set(c, k);
			}
			return k;
		};
		const of = new Int32Array(t.n);
		const STEPS = 40;
		if (this.colourBy === 'diff' && t.diff) {
			const a = t.total[0] || 1;
			const b = t.baseTotal[0] || 1;
			const deltas = new Float64Array(t.n);
			let max = 0;
			for (let i = 1; i < t.n; i++) {
				deltas[i] = t.total[i] / a - t.baseTotal[i] / b;
				max = Math.max(max, Math.abs(deltas[i]));
			}
			for (let i = 0; i < t.n; i++)
				of[i] = colourOf(diffColour(max > 0 ? Math.round(STEPS * deltas[i] / max) / STEPS : 0));
		} else if (this.colourBy === 'memory' && this.memory) {
			let max = 0;
			for (let i = 0; i < t.n; i++)
				max = Math.max(max, this.memory[i]);
			for (let i = 0; i < t.n; i++)
				of[i] = colourOf(heatColour(max > 0 ? Math.round(STEPS * Math.sqrt(this.memory[i] / max)) / STEPS : 0));
		} else {
			const byName = new Int32Array(t.names.length).fill(-1);
			for (let i = 0; i < t.n; i++) {
				if (byName[t.fn[i]] < 0)
					byName[t.fn[i]] = colourOf(nameColour(t.functionName(i)));
				of[i] = byName[t.fn[i]];
			}
			of[0] = colourOf('#c9ced6');
		}
		return { palette, of };
	}

	// Draw the tree: the focused node spans the width, its ancestors above
	// it stay full width.  Returns the milliseconds it took.
	draw() {
		const t0 = performance.now();
		const t = this.tree;
		const width = Math.max(100, this.container.clientWidth);
		const rows = t ? t.maxDepth + 1 : 1;
		const height = rows * ROW;
		const dpr = window.devicePixelRatio || 1;
		if (this.canvas.width !== Math.round(width * dpr) || this.canvas.height !== Math.round(height * dpr)) {
			this.canvas.width = Math.round(width * dpr);
			this.canvas.height = Math.round(height * dpr);
			this.canvas.style.width = `${width}px`;
			this.canvas.style.height = `${height}px`;
		}
		const ctx = this.ctx;
		ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
		ctx.clearRect(0, 0, width, height);
		if (!t || t.n === 0)
			return 0;
		if (!this.colours)
			this.colours = this.computeColours();
		const { palette, of } = this.colours;

		// Which nodes show, and where: whole subtrees that are outside the
		// focused range or too narrow are skipped.
		const f = this.focus;
		const x0 = t.x[f];
		const span = t.total[f] || 1;
		const scale = width / span;
		const x1 = x0 + span;
		if (!this.visible || this.visible.length < t.n) {
			this.visible = new Int32Array(t.n);
			this.lefts = new Float32Array(t.n);
			this.widths = new Float32Array(t.n);
		}
		const { visible, lefts, widths } = this;
		let count = 0;
		let i = 0;
		while (i < t.n) {
			const nx = t.x[i];
			const nw = t.total[i];
			if (nx + nw <= x0 || nx >= x1 || nw * scale < MIN_WIDTH) {
				i = t.end[i];
				continue;
			}
			const left = Math.max(0, (nx - x0) * scale);
			lefts[i] = left;
			widths[i] = Math.min(width, (nx + nw - x0) * scale) - left;
			visible[count++] = i;
			i++;
		}

		// Rectangles, one path per colour; with a highlight, the matches in
		// one colour and the rest faded.
		const dim = this.matches != null;
		const groups = palette.length + 1;
		const HIGHLIGHT = palette.length;
		const starts = new Int32Array(groups + 1);
		const group = (n) => (dim && this.matches[n] ? HIGHLIGHT : of[n]);
		for (let k = 0; k < count; k++)
			starts[group(visible[k]) + 1]++;
		for (let g = 0; g < groups; g++)
			starts[g + 1] += starts[g];
		const order = new Int32Array(count);
		const fill = starts.slice(0, groups);
		for (let k = 0; k < count; k++)
			order[fill[group(visible[k])]++] = visible[k];
		for (let g = 0; g < groups; g++) {
			if (starts[g] === starts[g + 1])
				continue;
			ctx.globalAlpha = dim && g !== HIGHLIGHT ? 0.35 : 1;
			ctx.fillStyle = g === HIGHLIGHT ? '#e040fb' : palette[g];
			ctx.beginPath();
			for (let k = starts[g]; k < starts[g + 1]; k++) {
				const n = order[k];
				ctx.rect(lefts[n], t.depth[n] * ROW, Math.max(widths[n] - 0.5, 0.5), ROW - 1);
			}
			ctx.fill();
		}
		ctx.globalAlpha = 1;

		// Labels on the nodes wide enough for a few characters.
		ctx.font = FONT;
		ctx.textBaseline = 'middle';
		ctx.fillStyle = '#111';
		if (!this.charWidth)
			this.charWidth = ctx.measureText('MMMMMMMMMM').width / 10;
		for (let k = 0; k < count; k++) {
			const n = visible[k];
			const w = widths[n];
			if (w < TEXT_MIN)
				continue;
			const chars = Math.floor((w - 6) / this.charWidth);
			if (chars < 2)
				continue;
			const label = t.functionName(n);
			ctx.fillText(label.length > chars ? label.slice(0, chars - 1) + '…' : label,
				lefts[n] + 3, t.depth[n] * ROW + ROW / 2);
		}
		if (this.hover >= 0)
			this.outline(this.hover, x0, scale, width);
		this.drawnNodes = count;
		this.lastDrawMs = performance.now() - t0;
		this.container.dataset.drawn = String(performance.now());
		this.container.dataset.nodes = String(count);
		return this.lastDrawMs;
	}

	outline(i, x0, scale, width) {
		const t = this.tree;
		const left = Math.max(0, (t.x[i] - x0) * scale);
		const right = Math.min(width, (t.x[i] + t.total[i] - x0) * scale);
		if (right <= left)
			return;
		this.ctx.strokeStyle = '#111';
		this.ctx.lineWidth = 1.5;
		this.ctx.strokeRect(left + 0.75, t.depth[i] * ROW + 0.75, Math.max(right - left - 1.5, 1), ROW - 2.5);
	}

	// The node under a mouse event, or -1.
	nodeAt(event) {
		const t = this.tree;
		if (!t)
			return -1;
		const rect = this.canvas.getBoundingClientRect();
		const px = event.clientX - rect.left;
		const depth = Math.floor((event.clientY - rect.top) / ROW);
		if (depth < 0 || depth > t.maxDepth)
			return -1;
		const width = rect.width;
		const f = this.focus;
		const span = t.total[f] || 1;
		const x = t.x[f] + (px / width) * span;
		const row = t.rows[depth];
		// The last node of the row starting at or before x.
		let lo = 0;
		let hi = row.length - 1;
		let found = -1;
		while (lo <= hi) {
			const mid = (lo + hi) >> 1;
			if (t.x[row[mid]] <= x) {
				found = row[mid];
				lo = mid + 1;
			} else
				hi = mid - 1;
		}
		if (found < 0 || x >= t.x[found] + t.total[found] || t.total[found] * width / span < MIN_WIDTH)
			return -1;
		return found;
	}

	mouseMove(event) {
		this.setHover(this.nodeAt(event), event);
	}

	setHover(node, event) {
		if (node !== this.hover) {
			this.hover = node;
			this.draw();
			if (this.onHover)
				this.onHover(node);
		}
		if (node < 0 || !event) {
			this.tooltip.hidden = true;
			return;
		}
		this.tooltip.replaceChildren(...this.describe(node));
		this.tooltip.hidden = false;
		const box = this.container.getBoundingClientRect();
		const tip = this.tooltip.getBoundingClientRect();
		let left = event.clientX - box.left + 14;
		if (left + tip.width > box.width)
			left = Math.max(0, event.clientX - box.left - tip.width - 14);
		this.tooltip.style.left = `${left}px`;
		this.tooltip.style.top = `${event.clientY - box.top + 14}px`;
	}

	// Lines of the tooltip of a node, as elements holding text.
	describe(i) {
		const t = this.tree;
		const line = (cls, text) => {
			const div = document.createElement('div');
			div.className = cls;
			div.textContent = text;
			return div;
		};
		const share = (v, of) => (of > 0 ? `${(100 * v / of).toFixed(2)}%` : '—');
		const root = t.total[0];
		const out = [line('tip-function', t.functionName(i))];
		const file = t.fileName(i);
		if (file != null)
			out.push(line('tip-file', `${file}:${t.line[i]}`));
		out.push(line('tip-value', `self ${formatValue(t.self[i], t.unit)} (${share(t.self[i], root)})`));
		out.push(line('tip-value', `total ${formatValue(t.total[i], t.unit)} (${share(t.total[i], root)})`));
		if (t.diff) {
			const baseRoot = t.baseTotal[0];
			out.push(line('tip-value', `base total ${formatValue(t.baseTotal[i], t.unit)} (${share(t.baseTotal[i], baseRoot)})`));
			const change = (root > 0 ? t.total[i] / root : 0) - (baseRoot > 0 ? t.baseTotal[i] / baseRoot : 0);
			out.push(line('tip-value', `change ${change >= 0 ? '+' : ''}${(100 * change).toFixed(2)} points of the total`));
		}
		if (this.memory)
			out.push(line('tip-value', `allocated here ${formatValue(this.memory[i], 'bytes')}`));
		return out;
	}
}

export function formatValue(v, unit) {
	if (v == null || !isFinite(v))
		return '—';
	if (unit === 'bytes') {
		const units = ['B', 'kB', 'MB', 'GB', 'TB'];
		let k = 0;
		let x = v;
		while (Math.abs(x) >= 1000 && k < units.length - 1) {
			x /= 1000;
			k++;
		}
		return `${k ? x.toFixed(x < 10 ? 2 : 1) : x} ${units[k]}`;
	}
	if (unit === 'seconds') {
		if (Math.abs(v) >= 1)
			return `${v.toFixed(v < 10 ? 2 : 1)} s`;
		if (Math.abs(v) >= 1e-3)
			return `${(v * 1e3).toFixed(1)} ms`;
		return v === 0 ? '0 s' : `${(v * 1e6).toFixed(0)} µs`;
	}
	return `${Math.round(v).toLocaleString()} ${unit ?? ''}`.trim();
}
