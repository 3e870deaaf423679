// flame_libs.mjs: our canvas flame graph (static/flamegraph.js) against
// the npm flame graph libraries, on one 10,010-node tree in headless
// Chromium: d3-flame-graph (SVG, with d3) and flame-chart-js (canvas).
//
//   node tests/bench/flame_libs.mjs DIR     (DIR: their node_modules)
//
// `make -C web bench-flame-libs` installs them into build/flame-libs and
// runs this; they are not dependencies of mnemic-web.  For each: the first
// render (building the view and drawing it) and a zoom into a frame and
// back, each timed from the call to the end of the frame that shows it
// (the next animation frame, then a task after its paint), median of RUNS.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const modules = path.resolve(process.argv[2] ?? path.join(here, '..', '..', 'build', 'flame-libs', 'node_modules'));
const staticDir = path.join(here, '..', '..', 'static');
const { launchBrowser } = await import(path.join(here, '..', 'browser', 'browser.mjs'));
const RUNS = 15;

const files = {
	'/lib/d3.js': path.join(modules, 'd3', 'dist', 'd3.min.js'),
	'/lib/d3-flamegraph.js': path.join(modules, 'd3-flame-graph', 'dist', 'd3-flamegraph.umd.min.js'),
	'/lib/d3-flamegraph.css': path.join(modules, 'd3-flame-graph', 'dist', 'd3-flamegraph.css'),
	'/lib/flame-chart.js': path.join(modules, 'flame-chart-js', 'dist', 'index.min.js'),
	'/flamegraph.js': path.join(staticDir, 'flamegraph.js'),
};
const page_html = `<!doctype html><meta charset="utf-8">
<link rel="stylesheet" href="/lib/d3-flamegraph.css">
<script src="/lib/d3.js"></script><script src="/lib/d3-flamegraph.js"></script>
<script src="/lib/flame-chart.js"></script>
<body style="margin:0"><div id="box" style="width:1300px"></div></body>`;

const browser = await launchBrowser({ width: 1400, height: 1000 });
const page = await browser.context.newPage();
await page.route('http://bench.test/**', (route) => {
	const url = new URL(route.request().url());
	if (url.pathname === '/')
		return route.fulfill({ body: page_html, contentType: 'text/html' });
	const file = files[url.pathname];
	const type = file.endsWith('.css') ? 'text/css' : 'text/javascript';
	return route.fulfill({ body: fs.readFileSync(file), contentType: type });
});
await page.goto('http://bench.test/');

const results = await page.evaluate(async (runs) => {
	const { FlameGraph, FlameTree } = await import('/flamegraph.js');
	// The tree: a root, 10 callers, 50 call chains 20 deep under each.
	const answer = { nodes: 0, names: [], parent: [], depth: [], function: [], file: [], line: [], self: [], total: [], unit: 'seconds', weight: 'cpu' };
	const names = new Map();
	const name = (s) => { if (!names.has(s)) { names.set(s, answer.names.length); answer.names.push(s); } return names.get(s); };
	const add = (parent, depth, fn, self) => {
		answer.parent.push(parent); answer.depth.push(depth); answer.function.push(name(fn));
		answer.file.push(name(`pkg/file${depth % 7}.py`)); answer.line.push(depth * 10);
		answer.self.push(self); answer.total.push(self);
		return answer.nodes++;
	};
	const root = add(-1, 0, 'all', 0);
	for (let a = 0; a < 10; a++) {
		const caller = add(root, 1, `caller_${a}`, 0);
		for (let b = 0; b < 50; b++) {
			let node = caller;
			for (let d = 2; d < 22; d++)
				node = add(node, d, `function_${(a * 50 + b + d) % 300}`, d === 21 ? 1 + ((a * 31 + b * 7) % 13) : 0.01);
		}
	}
	for (let i = answer.nodes - 1; i > 0; i--)
		answer.total[answer.parent[i]] += answer.total[i];
	const zoomNode = 2;		// caller_0

	// The same tree nested, as the libraries take it.
	const nested = (offsetOf) => {
		const made = new Array(answer.nodes);
		const x = new Float64Array(answer.nodes);
		const cursor = new Float64Array(answer.nodes);
		for (let i = 0; i < answer.nodes; i++) {
			const p = answer.parent[i];
			if (p >= 0) {
				x[i] = cursor[p];
				cursor[p] += answer.total[i];
			}
			cursor[i] = x[i];
			made[i] = offsetOf(i, x[i]);
			if (p >= 0)
				(made[p].children ??= []).push(made[i]);
		}
		return made;
	};

	// From a call to the end of the frame that shows its work.
	const painted = () => new Promise((done) => requestAnimationFrame(() => {
		const ch = new MessageChannel();
		ch.port1.onmessage = () => done();
		ch.port2.postMessage(null);
	}));
	const time = async (fn) => {
		const t0 = performance.now();
		fn();
		const sync = performance.now() - t0;
		await painted();
		return [performance.now() - t0, sync];
	};
	const box = document.getElementById('box');
	const med = (xs) => [...xs].sort((p, q) => p - q)[Math.floor(xs.length / 2)];
	const measure = async (setup, zoomIn, zoomOut) => {
		const first = [];
		const firstSync = [];
		const zoom = [];
		const sync = [];
		for (let r = 0; r < runs; r++) {
			box.replaceChildren();
			await painted();
			let view;
			const [f, fs] = await time(() => { view = setup(); });
			first.push(f);
			firstSync.push(fs);
			const [a, s1] = await time(() => zoomIn(view));
			const [b, s2] = await time(() => zoomOut(view));
			zoom.push((a + b) / 2);
			sync.push((s1 + s2) / 2);
		}
		return { first: med(first), firstSync: med(firstSync), zoom: med(zoom), zoomSync: med(sync) };
	};

	const out = { nodes: answer.nodes };
	out.ours = await measure(() => {
		const g = new FlameGraph(box, {});
		g.setTree(new FlameTree(answer));
		return g;
	}, (g) => g.setFocus(zoomNode), (g) => g.setFocus(0));

	const d3fg = window.flamegraph;
	out.d3 = await measure(() => {
		const data = nested((i) => ({ name: answer.names[answer.function[i]], value: answer.total[i] }))[0];
		const chart = d3fg.default().width(1300).cellHeight(18).transitionDuration(0).minFrameSize(0).sort(false);
		window.d3.select(box).datum(data).call(chart);
		return { chart, data };
	}, (v) => v.chart.zoomTo(window.d3.select(box).selectAll('g').data()
		.find((n) => n && n.data && n.data.name === 'caller_0')),
	(v) => v.chart.resetZoom());

	const { FlameChart } = window.flameChartJs;
	out.flameChart = await measure(() => {
		const nodes = nested((i, x) => ({ name: answer.names[answer.function[i]], start: x, duration: answer.total[i] }));
		const canvas = document.createElement('canvas');
		canvas.width = 1300;
		canvas.height = 22 * 18 + 60;
		box.append(canvas);
		const chart = new FlameChart({ canvas, data: [nodes[0]] });
		return { chart, total: answer.total[0], caller: nodes[zoomNode] };
	}, (v) => v.chart.setZoom(v.caller.start, v.caller.start + v.caller.duration),
	(v) => v.chart.setZoom(0, v.total));
	out.d3Elements = box.querySelectorAll('*').length;
	return out;
}, RUNS);

const row = (label, r) => console.log(`${label.padEnd(30)} first render ${r.first.toFixed(1).padStart(7)} ms (${r.firstSync.toFixed(1)} ms of script)   zoom in/out ${r.zoom.toFixed(1).padStart(7)} ms a frame (${r.zoomSync.toFixed(1)} ms of script)`);
console.log(`flame graph of ${results.nodes.toLocaleString()} nodes, median of ${RUNS}, to the frame that shows it:`);
row('ours (canvas, flamegraph.js)', results.ours);
row('d3-flame-graph 5.0.0 (SVG)', results.d3);
row('flame-chart-js 3.3.0 (canvas)', results.flameChart);
await browser.close();
