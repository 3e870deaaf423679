// profile.test.mjs: the profile view in headless Chromium against a live
// mnemic-web (run.py starts it and passes the runs in the environment).
// Exported files are read back with the formats' own packages from npm:
// speedscope's file format schema (with ajv) and pprof-format's decoder.
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

import { launchBrowser } from './browser.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const require = createRequire(path.join(here, '..', '..', 'package.json'));
const env = process.env;
const BASE = env.BASE_URL;
const HOSTILE = '<img src=x onerror=alert(1)>';
const tests = [];
const test = (name, fn) => tests.push({ name, fn });

class Skip extends Error {}

async function openPage(context, url) {
	const page = await context.newPage();
	page.errors = [];
	page.dialogs = [];
	page.on('pageerror', (e) => page.errors.push(String(e)));
	page.on('dialog', async (d) => { page.dialogs.push(d.message()); await d.dismiss(); });
	await page.goto(url);
	return page;
}

// Wait until the flame graph has loaded an answer newer than `after`.
async function graphLoaded(page, after = '') {
	await page.waitForFunction((before) => {
		const g = document.getElementById('fg-graph');
		return g.dataset.loaded && g.dataset.loaded !== before;
	}, after, { timeout: 20000 });
	return page.evaluate(() => document.getElementById('fg-graph').dataset.loaded);
}

// Wait until the charts of the run's current layout are drawn (app.js
// marks the body with the request drawn).  They load beside the flame graph
// and sit above it, with the metric picker: until then the graph may still
// move down the page between finding a frame and pointing at it, and the
// run's data span (the 'window' base of a diff) is not known.
async function chartsDrawn(page) {
	await page.waitForFunction(() => document.body.dataset.chartsRequest === String(window.mnemic.state.seq),
		null, { timeout: 20000 });
}

// The centre of a node's rectangle on the page, found by function name.
async function nodeCentre(page, fn) {
	return page.evaluate((name) => {
		const { tree, graph } = window.mnemic.profile;
		const node = [...Array(tree.n).keys()].find((i) => tree.functionName(i) === name);
		const rect = graph.canvas.getBoundingClientRect();
		const f = graph.focus;
		const scale = rect.width / tree.total[f];
		const left = Math.max(0, (tree.x[node] - tree.x[f]) * scale);
		const right = Math.min(rect.width, (tree.x[node] + tree.total[node] - tree.x[f]) * scale);
		return { node, x: rect.left + (left + right) / 2, y: rect.top + tree.depth[node] * 18 + 9 };
	}, fn);
}

// The colour drawn at a page position of the flame graph canvas.
async function pixelAt(page, x, y) {
	return page.evaluate(([px, py]) => {
		const c = window.mnemic.profile.graph.canvas;
		const rect = c.getBoundingClientRect();
		const dpr = c.width / rect.width;
		return [...c.getContext('2d').getImageData(Math.round((px - rect.left) * dpr),
			Math.round((py - rect.top) * dpr), 1, 1).data];
	}, [x, y]);
}

// Click a frame of the flame graph and wait until the graph zooms into it.
// The page may still move (a chart drawing above the graph): if a click
// lands elsewhere, the frame is found again and clicked again.
async function clickNode(page, name) {
	const deadline = Date.now() + 20000;
	for (;;) {
		const at = await nodeCentre(page, name);
		await page.mouse.click(at.x, at.y);
		try {
			await page.waitForFunction((n) => window.mnemic.profile.graph.focus === n, at.node,
				{ timeout: 2000 });
			return at;
		} catch (e) {
			if (Date.now() > deadline)
				throw e;
		}
	}
}

async function runPage(context, run, extra = '') {
	const page = await openPage(context, `${BASE}/?run=${run}${extra}`);
	await graphLoaded(page);
	await chartsDrawn(page);
	return page;
}

test('the flame graph draws the frames the API returned, with a tooltip', async ({ context }) => {
	const page = await openPage(context, 'about:blank');
	const answer = page.waitForResponse((r) => r.url().includes('/flamegraph?'));
	await page.goto(`${BASE}/?run=${env.PROFILE_RUN}`);
	const sent = await (await answer).json();
	await graphLoaded(page);
	await chartsDrawn(page);
	const held = await page.evaluate(() => {
		const t = window.mnemic.profile.tree;
		return { n: t.n, functions: [...Array(t.n).keys()].map((i) => t.functionName(i)),
			total: Array.from(t.total) };
	});
	assert.equal(held.n, sent.nodes);
	assert.deepEqual(held.functions, sent.function.map((f) => sent.names[f]));
	assert.deepEqual(held.total, sent.total);
	// Every node with weight is drawn (wait_for_order has no CPU time).
	const drawn = Number(await page.getAttribute('#fg-graph', 'data-nodes'));
	assert.equal(drawn, sent.total.filter((v) => v > 0).length);

	const cart = await nodeCentre(page, 'Cart.total');
	await page.mouse.move(cart.x, cart.y);
	await page.waitForSelector('.flamegraph-tooltip:not([hidden])');
	const tip = await page.$$eval('.flamegraph-tooltip div', (els) => els.map((e) => e.textContent));
	assert.deepEqual(tip, ['Cart.total', 'shop/cart.py:12', 'self 27.0 s (56.25%)', 'total 27.0 s (56.25%)']);
	assert.deepEqual(page.errors, []);
});

test('a drag on a chart narrows the flame graph, double-click resets', async ({ context }) => {
	const page = await runPage(context, env.PROFILE_RUN);
	const loaded = await page.evaluate(() => document.getElementById('fg-graph').dataset.loaded);
	const whole = await page.evaluate(() => window.mnemic.profile.tree.total[0]);
	const over = await page.locator('.chart[data-metric="ticks"] .u-over').boundingBox();
	const narrowed = page.waitForRequest((r) => r.url().includes('/flamegraph?') && r.url().includes('from='));
	await page.mouse.move(over.x + over.width * 0.2, over.y + over.height / 2);
	await page.mouse.down();
	await page.mouse.move(over.x + over.width * 0.5, over.y + over.height / 2, { steps: 5 });
	await page.mouse.up();
	const url = new URL((await narrowed).url());
	const range = await page.evaluate(() => window.mnemic.state.range);
	assert.equal(Number(url.searchParams.get('from')), range[0]);
	assert.equal(Number(url.searchParams.get('to')), range[1]);
	await graphLoaded(page, loaded);
	const part = await page.evaluate(() => window.mnemic.profile.tree.total[0]);
	assert.ok(part > 0 && part < whole * 0.5, `${part} of ${whole}`);

	const reset = page.waitForRequest((r) => r.url().includes('/flamegraph?') && !r.url().includes('from='));
	await page.locator('.chart[data-metric="ticks"] .u-over').dblclick();
	await reset;
	await page.waitForFunction((w) => window.mnemic.profile.tree.total[0] === w, whole);
	assert.deepEqual(page.errors, []);
});

test('clicking a frame zooms into it and opens its allocations by type', async ({ context }) => {
	const page = await runPage(context, env.PROFILE_RUN);
	const cart = await clickNode(page, 'Cart.total');
	const crumbs = await page.$$eval('#fg-breadcrumb .crumb', (els) => els.map((e) => e.textContent));
	assert.deepEqual(crumbs, ['all', '<module>', 'main', 'handle_order', 'Cart.total']);
	const focus = new URL(page.url()).searchParams.getAll('focus');
	assert.equal(focus[focus.length - 1], 'Cart.total (shop/cart.py:12)');
	// Zoomed, Cart.total spans the width.
	const after = await nodeCentre(page, 'Cart.total');
	const width = await page.evaluate(() => window.mnemic.profile.graph.canvas.getBoundingClientRect().width);
	assert.ok(Math.abs(after.x - (await page.locator('#fg-graph canvas').boundingBox()).x - width / 2) < 2);
	await page.waitForFunction(() => document.getElementById('fg-allocs').dataset.function === 'Cart.total');
	const rows = await page.$$eval('#fg-allocs .alloc-row', (els) => els.map((e) =>
		[e.querySelector('.alloc-type').textContent, e.querySelector('.alloc-value').textContent]));
	assert.deepEqual(rows, [['dict', '39.3 MB in 600 samples']]);
	assert.match(await page.textContent('#fg-allocs-title'), /Cart\.total/);

	// The breadcrumb goes back; the URL remembers a zoom across a reload.
	const again = await openPage(context, page.url());
	await graphLoaded(again);
	assert.equal(await again.evaluate(() => window.mnemic.profile.graph.focus), cart.node);
	await again.click('#fg-breadcrumb .crumb >> text=all');
	await again.waitForFunction(() => window.mnemic.profile.graph.focus === 0);
	assert.deepEqual(new URL(again.url()).searchParams.getAll('focus'), []);
	assert.deepEqual([...page.errors, ...again.errors], []);
});

test("the memory chart's hover shows the stack of that moment, a click pins it", async ({ context }) => {
	const page = await runPage(context, env.PROFILE_RUN);
	const over = await page.locator('.chart[data-metric="rss_bytes"] .u-over').boundingBox();
	const asked = page.waitForRequest((r) => r.url().includes('/stack?'));
	await page.mouse.move(over.x + over.width * 0.6, over.y + over.height / 2);
	const at = Number(new URL((await asked).url()).searchParams.get('at'));
	await page.waitForSelector('#fg-stack:not([hidden]) #fg-stack-body li');
	const frames = await page.$$eval('#fg-stack-body li .fn', (els) => els.map((e) => e.textContent));
	assert.deepEqual(frames.slice(0, 2), ['<module>', 'main']);
	assert.match(await page.textContent('#fg-stack-title'), /^Stack of (MainThread|worker) at .* RSS \d/);
	const sampledAt = Number(await page.getAttribute('#fg-stack', 'data-sampled-at'));
	assert.ok(Math.abs(sampledAt - at) <= 0.01, `${sampledAt} near ${at}`);

	await page.mouse.click(over.x + over.width * 0.3, over.y + over.height / 2);
	await page.waitForFunction(() => new URL(location.href).searchParams.has('at'));
	const pinned = Number(new URL(page.url()).searchParams.get('at'));
	await page.waitForFunction((p) => Math.abs(Number(document.getElementById('fg-stack').dataset.sampledAt) - p) <= 0.01, pinned);
	assert.equal(await page.isVisible('#fg-unpin'), true);
	// Pinned, hovering elsewhere leaves the stack alone.
	let more = 0;
	page.on('request', (r) => { if (r.url().includes('/stack?')) more++; });
	await page.mouse.move(over.x + over.width * 0.8, over.y + over.height / 2);
	await page.mouse.move(over.x + over.width * 0.9, over.y + over.height / 2);
	assert.equal(more, 0);
	assert.deepEqual(page.errors, []);
});

test('the diff view colours a frame that grew red and lists it first', async ({ context }) => {
	const page = await runPage(context, env.PROFILE_RUN);
	const loaded = await page.evaluate(() => document.getElementById('fg-graph').dataset.loaded);
	await page.waitForFunction((b) => [...document.querySelectorAll('#fg-diff option')].some((o) => o.value === b), env.PROFILE_BASE);
	const asked = page.waitForRequest((r) => r.url().includes('/flamegraph/diff?'));
	await page.selectOption('#fg-diff', env.PROFILE_BASE);
	assert.equal(new URL((await asked).url()).searchParams.get('base'), env.PROFILE_BASE);
	await graphLoaded(page, loaded);
	assert.equal(new URL(page.url()).searchParams.get('base'), env.PROFILE_BASE);
	const cart = await nodeCentre(page, 'Cart.total');
	const [r, g, b] = await pixelAt(page, cart.x - 20, cart.y - 5);
	assert.ok(r > b + 40 && r > g + 40, `Cart.total drawn red: ${[r, g, b]}`);
	const dumps = await nodeCentre(page, 'dumps');
	const [r2, , b2] = await pixelAt(page, dumps.x - 20, dumps.y - 5);
	assert.ok(b2 > r2 + 20, `dumps, a smaller share now, drawn blue: ${[r2, b2]}`);
	const first = await page.$eval('#fg-changes-body tr', (tr) => [tr.className, tr.cells[0].textContent]);
	assert.deepEqual(first, ['grew', 'Cart.total']);
	await page.screenshot({ path: path.join(env.ARTIFACTS, 'mnemic-web-profile-diff.png'), fullPage: true });

	// Another window of the same run: the base is the window shown now.
	const other = await runPage(context, env.PROFILE_RUN);
	await other.selectOption('#fg-diff', 'window');
	await other.waitForFunction(() => new URL(location.href).searchParams.has('base_from'));
	assert.deepEqual(page.errors, []);
});

test('exports download and read back with the formats\' own readers', async ({ context }) => {
	const page = await runPage(context, env.PROFILE_RUN);
	const total = await page.evaluate(() => window.mnemic.profile.tree.total[0]);	// seconds of CPU
	const download = page.waitForEvent('download');
	await page.click('#fg-export-collapsed');
	const file = await download;
	assert.equal(file.suggestedFilename(), `mnemic-${env.PROFILE_RUN}-cpu.collapsed.txt`);
	const lines = fs.readFileSync(await file.path(), 'utf8').trim().split('\n');
	const sum = lines.reduce((s, l) => s + Number(l.slice(l.lastIndexOf(' ') + 1)), 0);
	assert.equal(sum, Math.round(total * 1e6));
	assert.ok(lines.some((l) => l.endsWith('Cart.total (shop/cart.py:13) 27000000')));

	const missing = [];
	for (const format of ['speedscope', 'pprof']) {
		const href = await page.getAttribute(`#fg-export-${format}`, 'href');
		const response = await fetch(BASE + href);
		if (response.status === 501) {
			missing.push(`${format}: ${(await response.json()).error.message}`);
			continue;
		}
		assert.equal(response.status, 200, format);
		const bytes = Buffer.from(await response.arrayBuffer());
		if (format === 'speedscope')
			readSpeedscope(bytes, total);
		else
			readPprof(bytes, total);
	}
	if (missing.length)
		throw new Skip(`the server does not write ${missing.join('; ')}`);
});

// speedscope's own schema (from its npm package) must accept the file, and
// its samples must add up to the flame graph's total.
function readSpeedscope(bytes, totalSeconds) {
	const Ajv = require('ajv');
	const schema = JSON.parse(fs.readFileSync(require.resolve('speedscope/dist/release/file-format-schema.json'), 'utf8'));
	const doc = JSON.parse(bytes.toString('utf8'));
	const validate = new Ajv({ strict: false, allErrors: true }).compile(schema);
	assert.ok(validate(doc), JSON.stringify(validate.errors));
	const frames = doc.shared.frames;
	let sum = 0;
	for (const p of doc.profiles) {
		if (p.type === 'sampled') {
			for (const stack of p.samples)
				for (const f of stack)
					assert.ok(f >= 0 && f < frames.length);
			sum += p.weights.reduce((a, b) => a + b, 0) * (p.unit === 'microseconds' ? 1e-6 : p.unit === 'seconds' ? 1 : 1e-3);
		}
	}
	assert.ok(Math.abs(sum - totalSeconds) < 1e-3, `${sum} vs ${totalSeconds}`);
	assert.ok(frames.some((f) => f.name === 'Cart.total'));
}

// pprof-format (the decoder pprof's Node.js tools use) must read it.
function readPprof(bytes, totalSeconds) {
	const { Profile } = require('pprof-format');
	assert.equal(bytes[0], 0x1f, 'gzipped');
	const profile = Profile.decode(zlib.gunzipSync(bytes));
	const strings = profile.stringTable.strings;
	const types = profile.sampleType.map((t) => strings[Number(t.type)]);
	assert.ok(types.length >= 1, 'a sample type');
	const column = types.length - 1;
	const sum = profile.sample.reduce((s, x) => s + Number(x.value[column]), 0);
	const unit = strings[Number(profile.sampleType[column].unit)];
	const scale = unit === 'nanoseconds' ? 1e-9 : unit === 'microseconds' ? 1e-6 : unit === 'milliseconds' ? 1e-3 : 1;
	assert.ok(Math.abs(sum * scale - totalSeconds) < 1e-3, `${sum} ${unit} vs ${totalSeconds} s`);
	const names = new Set(profile.function.map((f) => strings[Number(f.name)]));
	assert.ok(names.has('Cart.total'), [...names].join(','));
}

test('an imported collapsed file appears as a run and draws', async () => {
	const browser = await launchBrowser();
	try {
		const page = await openPage(browser.context, `${env.IMPORT_URL}/`);
		await page.click('#import summary');
		await page.setInputFiles('#fg-import-file', {
			name: 'job.collapsed', mimeType: 'text/plain',
			buffer: Buffer.from('main (job.py:3);load (job.py:20) 30\nmain (job.py:3);load (job.py:20);parse (job.py:41) 50\nmain (job.py:3);save (job.py:60) 20\n'),
		});
		await page.fill('#fg-import-tracer', 'imported in the browser');
		await page.fill('#fg-import-token', env.IMPORT_TOKEN);
		await page.click('#fg-import-form button[type=submit]');
		await page.waitForFunction(() => /^Imported as a collapsed profile/.test(document.getElementById('fg-import-status').textContent));
		await page.waitForFunction(() => new URL(location.href).searchParams.has('run'));
		const run = new URL(page.url()).searchParams.get('run');
		await page.locator(`.tracer-name:text-is("imported in the browser")`).waitFor();
		// The sidebar opens the tracer of the run shown, and lists its runs.
		await page.locator(`li.run-item[data-run="${run}"]`).waitFor();
		assert.equal(await page.locator(`li.run-item[data-run="${run}"]`).count(), 1);
		await graphLoaded(page);
		const functions = await page.evaluate(() => {
			const t = window.mnemic.profile.tree;
			return [...Array(t.n).keys()].map((i) => t.functionName(i));
		});
		assert.deepEqual(functions, ['all', 'main', 'load', 'parse', 'save']);

		// A wrong token is refused, and says so.
		await page.setInputFiles('#fg-import-file', { name: 'x.txt', mimeType: 'text/plain', buffer: Buffer.from('a 1\n') });
		await page.fill('#fg-import-token', 'wrong');
		await page.click('#fg-import-form button[type=submit]');
		await page.waitForFunction(() => /^Import failed: 401/.test(document.getElementById('fg-import-status').textContent));
		assert.deepEqual(page.errors, []);
	} finally {
		await browser.close();
	}
});

test('a function named <img src=x onerror=alert(1)> shows as text', async ({ context }) => {
	const page = await runPage(context, env.HOSTILE_PROFILE);
	await page.waitForSelector('#fg-top-body tr');
	const cells = await page.$$eval('#fg-top-body td.fn', (els) => els.map((e) => e.textContent));
	assert.ok(cells.includes(HOSTILE), cells.join('|'));
	const node = await nodeCentre(page, HOSTILE);
	await page.mouse.move(node.x, node.y);
	await page.waitForSelector('.flamegraph-tooltip:not([hidden])');
	assert.equal(await page.textContent('.tip-function'), HOSTILE);
	assert.equal(await page.textContent('.tip-file'), 'x"\'&;.py:5');
	await page.mouse.click(node.x, node.y);
	await page.waitForFunction(() => document.getElementById('fg-allocs').dataset.function != null);
	assert.equal(await page.textContent('#fg-breadcrumb .crumb[aria-current]'), HOSTILE);
	assert.equal(await page.textContent('#fg-allocs .alloc-type'), '<img>');
	assert.equal(await page.locator('#main img, #main b, #main script').count(), 0, 'no element made from data');
	await page.evaluate(() => Promise.all([...document.images].map((img) => img.complete ? null
		: new Promise((ok) => { img.addEventListener('load', ok); img.addEventListener('error', ok); }))));
	assert.deepEqual(page.dialogs, [], 'no alert ran');
	assert.deepEqual(page.errors, []);
});

test('search highlights matching frames; top functions sort and highlight', async ({ context }) => {
	const page = await runPage(context, env.PROFILE_RUN);
	await page.fill('#fg-search', 'dumps');
	await page.waitForFunction(() => document.getElementById('fg-search-result').textContent !== '');
	assert.equal(await page.textContent('#fg-search-result'), '1 frames, 25.0% of the total');
	const dumps = await nodeCentre(page, 'dumps');
	const cart = await nodeCentre(page, 'Cart.total');
	const lit = await pixelAt(page, dumps.x - 20, dumps.y - 5);
	const dim = await pixelAt(page, cart.x - 20, cart.y - 5);
	assert.deepEqual(lit, [224, 64, 251, 255], 'the match in the highlight colour');
	assert.ok(dim[3] < 128, `the rest faded: ${dim}`);
	await page.waitForFunction(() => new URL(location.href).searchParams.get('search') === 'dumps');

	await page.fill('#fg-search', '');
	await page.click('#fg-top th[data-key="function"]');
	const names = await page.$$eval('#fg-top-body td.fn', (els) => els.map((e) => e.textContent));
	assert.deepEqual(names, [...names].sort((a, b) => a.localeCompare(b)));
	await page.hover('#fg-top-body tr:has(td.fn:text-is("render_invoice"))');
	await page.waitForFunction(() => window.mnemic.profile.graph.matches != null);
	const matched = await page.evaluate(() => {
		const { graph, tree } = window.mnemic.profile;
		return [...graph.matches.keys()].filter((i) => graph.matches[i]).map((i) => tree.functionName(i));
	});
	assert.deepEqual(matched, ['render_invoice']);
	assert.deepEqual(page.errors, []);
});

test('weight and colour by memory come from the URL and go back into it', async ({ context }) => {
	const page = await openPage(context, 'about:blank');
	const alloc = page.waitForRequest((r) => r.url().includes('/flamegraph?') && r.url().includes('weight=alloc'));
	const wall = page.waitForRequest((r) => r.url().includes('/flamegraph?') && r.url().includes('weight=wall'));
	await page.goto(`${BASE}/?run=${env.PROFILE_RUN}&weight=wall&memory=1`);
	await Promise.all([alloc, wall]);
	await graphLoaded(page);
	await chartsDrawn(page);
	assert.equal(await page.inputValue('#fg-weight'), 'wall');
	assert.equal(await page.isChecked('#fg-memory'), true);
	// render_invoice allocates the most itself: the reddest; main nothing: green.
	const invoice = await nodeCentre(page, 'render_invoice');
	const main = await nodeCentre(page, 'main');
	const [r1, g1] = await pixelAt(page, invoice.x - 30, invoice.y - 5);
	const [r2, g2] = await pixelAt(page, main.x - 30, main.y - 5);
	assert.ok(r1 > g1 + 60, `render_invoice red: ${[r1, g1]}`);
	assert.ok(g2 > r2 + 60, `main green: ${[r2, g2]}`);
	await page.screenshot({ path: path.join(env.ARTIFACTS, 'mnemic-web-profile-memory.png'), fullPage: true });

	await page.selectOption('#fg-weight', 'samples');
	await page.waitForFunction(() => new URL(location.href).searchParams.get('weight') === 'samples');
	await page.waitForFunction(() => document.getElementById('fg-graph').dataset.weight === 'samples');
	assert.equal(await page.evaluate(() => window.mnemic.profile.tree.total[0]), 12000);
	assert.deepEqual(page.errors, []);
});

test('the thread picker narrows the flame graph and top functions to one thread, in the URL', async ({ context }) => {
	const page = await runPage(context, env.PROFILE_RUN, '&weight=samples');
	const threads = await page.evaluate(async (run) =>
		(await (await fetch(`/api/runs/${run}/threads`)).json()).threads, env.PROFILE_RUN);
	const worker = threads.find((t) => t.thread === 'worker');
	assert.ok(worker && worker.samples > 0, JSON.stringify(threads));
	await page.waitForFunction(() => [...document.querySelectorAll('#fg-thread option')]
		.some((o) => o.value === 'worker'));
	const before = await page.getAttribute('#fg-graph', 'data-loaded');
	const top = page.waitForRequest((r) => r.url().includes('/top?') && r.url().includes('thread=worker'));
	await page.selectOption('#fg-thread', 'worker');
	await graphLoaded(page, before);
	await top;
	await page.waitForFunction(() => new URL(location.href).searchParams.get('thread') === 'worker');
	assert.equal(await page.evaluate(() => window.mnemic.profile.tree.total[0]), worker.samples);
	assert.ok(worker.samples < threads.reduce((sum, t) => sum + t.samples, 0));

	// a shared URL opens with the thread chosen
	const again = await openPage(context, 'about:blank');
	const asked = again.waitForRequest((r) => r.url().includes('/flamegraph?') && r.url().includes('thread=worker'));
	await again.goto(page.url());
	await asked;
	await graphLoaded(again);
	await again.waitForFunction(() => document.getElementById('fg-thread').value === 'worker');
	assert.equal(await again.evaluate(() => window.mnemic.profile.tree.total[0]), worker.samples);
	assert.deepEqual(page.errors, []);
	assert.deepEqual(again.errors, []);
});

test('a tree of 12,000 frames draws and answers the mouse', async ({ context }) => {
	const page = await runPage(context, env.BIG_PROFILE);
	const n = await page.evaluate(() => window.mnemic.profile.tree.n);
	assert.equal(n, 1 + 1 + 60 + 12000);
	const drawMs = await page.evaluate(() => window.mnemic.profile.graph.draw());
	console.log(`  (12,062 nodes drawn in ${drawMs.toFixed(1)} ms)`);
	await page.fill('#fg-search', 'leaf_11999');
	await page.waitForFunction(() => /^1 frames/.test(document.getElementById('fg-search-result').textContent));
	const caller = await nodeCentre(page, 'caller_7');
	await page.mouse.click(caller.x, caller.y);
	await page.waitForFunction((c) => window.mnemic.profile.graph.focus === c, caller.node);
	assert.equal(Number(await page.getAttribute('#fg-graph', 'data-nodes')), 3 + 200);
	assert.deepEqual(page.errors, []);
});

test('an active run refreshes its flame graph as samples arrive', async ({ context }) => {
	const live = JSON.parse(fs.readFileSync(env.LIVE_PROFILE, 'utf8'));
	const socket = dgram.createSocket('udp4');
	const send = (hex) => new Promise((ok) => socket.send(Buffer.from(hex, 'hex'), Number(env.UDP_PORT), '127.0.0.1', ok));
	const info = async () => (await fetch(`${BASE}/api/runs/${live.run}`)).json();
	try {
		// Definitions and the main thread's samples first.
		const half = live.datagrams.length - 4;
		for (const d of live.datagrams.slice(0, half))
			await send(d);
		let first = null;
		const deadline = Date.now() + 20000;
		while (!(first && first.stack_samples > 0)) {
			assert.ok(Date.now() < deadline, 'the first samples never arrived');
			first = await info().catch(() => null);
			if (!(first && first.stack_samples > 0))
				await new Promise((ok) => setTimeout(ok, 100));
		}
		const page = await runPage(context, live.run, '&weight=wall');
		await page.evaluate(() => { window.notReloaded = true; });
		const before = await page.evaluate(() => window.mnemic.profile.tree.total[0]);
		for (const d of live.datagrams.slice(half))
			await send(d);
		await page.waitForFunction((b) => window.mnemic.profile.tree.total[0] > b, before, { timeout: 30000 });
		assert.equal(await page.evaluate(() => window.notReloaded), true);
		assert.deepEqual(page.errors, []);
	} finally {
		socket.close();
	}
});

test('screenshots of the profile view for the record', async ({ context }) => {
	const page = await runPage(context, env.PROFILE_RUN);
	await clickNode(page, 'handle_order');
	await page.waitForFunction(() => document.getElementById('fg-allocs').dataset.function === 'handle_order');
	const over = await page.locator('.chart[data-metric="rss_bytes"] .u-over').boundingBox();
	await page.mouse.move(over.x + over.width * 0.7, over.y + over.height / 2);
	await page.waitForSelector('#fg-stack:not([hidden]) #fg-stack-body li');
	const file = path.join(env.ARTIFACTS, 'mnemic-web-profile.png');
	await page.screenshot({ path: file, fullPage: true });
	assert.ok(fs.statSync(file).size > 10000);
});

const browser = await launchBrowser({ width: 1280, height: 1000 });
let passed = 0;
let failed = 0;
let skipped = 0;
const only = process.env.TEST_FILTER;
for (const t of tests) {
	if (only && !t.name.includes(only))
		continue;
	try {
		await t.fn({ context: browser.context });
		passed++;
		console.log(`ok - ${t.name}`);
	} catch (e) {
		if (e instanceof Skip) {
			skipped++;
			console.log(`ok - ${t.name} # SKIP ${e.message}`);
		} else {
			failed++;
			console.log(`not ok - ${t.name}\n  ${String(e.stack || e).split('\n').join('\n  ')}`);
		}
	}
	for (const p of browser.context.pages())
		await p.close();
}
await browser.close();
console.log(`profile: ${passed} passed, ${failed} failed, ${skipped} skipped`);
process.exit(failed ? 1 : 0);
