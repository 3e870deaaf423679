// profile_draw.mjs: the profile view's times in headless Chromium.
//   * range selected on a chart -> flame graph redrawn: from the mouse
//     button's release to the end of the first draw of the new window's
//     flame graph (request, answer, layout, draw), median of DRAGS;
//   * drawing a 10,000-node tree: FlameGraph.draw() of a synthetic tree,
//     median and p95 of FRAMES full redraws, against a floor in the same
//     page: the same 10,000 rectangles filled on a bare canvas, no text.
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const { launchBrowser } = await import(path.join(here, '..', 'browser', 'browser.mjs'));

const { BASE_URL, RUN } = process.env;
const DRAGS = 7;
const FRAMES = 60;

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const p95 = (xs) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.round(0.95 * (xs.length - 1)))];

const browser = await launchBrowser({ width: 1400, height: 1000 });
const page = await browser.context.newPage();
await page.goto(`${BASE_URL}/?run=${RUN}`);
await page.waitForFunction(() => document.getElementById('fg-graph').dataset.loaded, null, { timeout: 120000 });
await page.waitForFunction(() => document.querySelectorAll('.chart canvas').length >= 1);
await page.evaluate(() => {
	document.addEventListener('mouseup', () => { window.releasedAt = performance.now(); }, true);
});

const redraws = [];
const requests = [];
for (let i = 0; i < DRAGS + 1; i++) {
	const over = await page.locator('.chart .u-over').first().boundingBox();
	const a = 0.1 + 0.1 * (i % 6);
	await page.mouse.move(over.x + over.width * a, over.y + over.height / 2);
	await page.mouse.down();
	await page.mouse.move(over.x + over.width * (a + 0.05), over.y + over.height / 2, { steps: 3 });
	await page.mouse.up();
	const ms = await page.evaluate(() => new Promise((done) => {
		const g = document.getElementById('fg-graph');
		const check = () => {
			if (Number(g.dataset.loaded) > window.releasedAt && Number(g.dataset.drawn) > window.releasedAt)
				done(Number(g.dataset.drawn) - window.releasedAt);
			else
				requestAnimationFrame(check);
		};
		check();
	}));
	const request = await page.evaluate(() => {
		const e = performance.getEntriesByType('resource').filter((r) => r.name.includes('/flamegraph?')).pop();
		return e ? [e.startTime - window.releasedAt, e.responseEnd - window.releasedAt] : [NaN, NaN];
	});
	if (i > 0) {	// the first warms the caches
		redraws.push(ms);
		requests.push(request);
	}
	const loaded = await page.evaluate(() => document.getElementById('fg-graph').dataset.loaded);
	await page.locator('.chart .u-over').first().dblclick();
	await page.waitForFunction((l) => document.getElementById('fg-graph').dataset.loaded !== l, loaded, { timeout: 60000 });
}
const nodes = await page.evaluate(() => window.mnemic.profile.tree.n);
console.log(`range selected -> flame graph redrawn (${nodes} nodes in the whole run's tree): median ${median(redraws).toFixed(0)} ms, ` +
	`max ${Math.max(...redraws).toFixed(0)} ms over ${DRAGS} drags (target <= 300 ms); the request left at ${median(requests.map((r) => r[0])).toFixed(0)} ms ` +
	`and was answered at ${median(requests.map((r) => r[1])).toFixed(0)} ms`);

const draw = await page.evaluate(async ([frames]) => {
	const { FlameGraph, FlameTree } = await import('/flamegraph.js');
	// 10,010 nodes, all wide enough to draw: a root, 10 callers, 50 call
	// chains 20 deep under each, of different widths.
	const answer = { nodes: 0, names: [], parent: [], depth: [], function: [], file: [], line: [], self: [], total: [], unit: 'seconds', weight: 'cpu' };
	const names = new Map();
	const name = (s) => { if (!names.has(s)) { names.set(s, answer.names.length); answer.names.push(s); } return names.get(s); };
	const add = (parent, depth, fn, self) => {
		answer.parent.push(parent); answer.depth.push(depth); answer.function.push(name(fn));
		answer.file.push(name(`pkg/file${depth % 7}.py`)); answer.line.push(depth * 10); answer.self.push(self);
		answer.total.push(self);
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
	// Totals from the leaves up: children come after their parents.
	for (let i = answer.nodes - 1; i > 0; i--)
		answer.total[answer.parent[i]] += answer.total[i];
	const box = document.createElement('div');
	box.style.width = '1300px';
	document.body.append(box);
	const graph = new FlameGraph(box, {});
	graph.setTree(new FlameTree(answer));
	const ours = [];
	for (let i = 0; i < frames; i++)
		ours.push(graph.draw());
	// The floor: the same rectangles on a bare canvas.
	const t = graph.tree;
	const canvas = document.createElement('canvas');
	canvas.width = 1300;
	canvas.height = (t.maxDepth + 1) * 18;
	box.append(canvas);
	const ctx = canvas.getContext('2d');
	const scale = 1300 / t.total[0];
	const bare = [];
	for (let k = 0; k < frames; k++) {
		const t0 = performance.now();
		ctx.clearRect(0, 0, canvas.width, canvas.height);
		for (let i = 0; i < t.n; i++) {
			ctx.fillStyle = i % 2 ? '#e8590c' : '#f08c00';
			ctx.fillRect(t.x[i] * scale, t.depth[i] * 18, Math.max(t.total[i] * scale - 0.5, 0.5), 17);
		}
		bare.push(performance.now() - t0);
	}
	return { n: t.n, drawn: graph.drawnNodes, ours, bare };
}, [FRAMES]);
const o50 = median(draw.ours);
const b50 = median(draw.bare);
console.log(`drawing a ${draw.n.toLocaleString()}-node tree (${draw.drawn.toLocaleString()} drawn): ` +
	`median ${o50.toFixed(2)} ms, p95 ${p95(draw.ours).toFixed(2)} ms a frame over ${FRAMES} frames (target <= 16 ms); ` +
	`floor, the same rectangles on a bare canvas: ${b50.toFixed(2)} ms; ratio ${(o50 / b50).toFixed(2)}x`);
await browser.close();
