// ui.test.mjs: the mnemic UI in headless Chromium against a live
// mnemic-web (started by run.py, which passes the addresses and run uuids).
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import dgram from 'node:dgram';
import fs from 'node:fs';
import path from 'node:path';

import { launchBrowser } from './browser.mjs';

const env = process.env;
const BASE = env.BASE_URL;
const tests = [];
const test = (name, fn) => tests.push({ name, fn });

async function openPage(context, url) {
	const page = await context.newPage();
	page.errors = [];
	page.dialogs = [];
	page.on('pageerror', (e) => page.errors.push(String(e)));
	page.on('dialog', async (d) => { page.dialogs.push(d.message()); await d.dismiss(); });
	await page.goto(url);
	return page;
}

// Ask until check() is true; a busy machine makes this slower, not wrong.
async function until(what, check, timeout = 15000) {
	const deadline = Date.now() + timeout;
	while (!(await check())) {
		if (Date.now() > deadline)
			throw new Error(`timed out waiting for ${what}`);
		await new Promise((ok) => setTimeout(ok, 50));
	}
}

const runInfo = async (run) => (await fetch(`${BASE}/api/runs/${run}`)).json();

// The sidebar item of a tracer, by exact name.
const exactly = (text) => new RegExp(`^${text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`);
const tracerItem = (page, name) => page.locator('li.tracer', {
	has: page.locator('.tracer-name', { hasText: exactly(name) }),
});

// Open a tracer in the sidebar (its runs load) unless it is open.
async function openTracer(page, name) {
	const item = tracerItem(page, name);
	await item.waitFor();
	if (await item.evaluate((li) => li.classList.contains('collapsed')))
		await item.locator('.tracer-head').click();
	await item.locator('li.run-item, li.no-runs').first().waitFor();
	return item;
}

async function chartPoints(page) {
	return page.$$eval('.chart', (els) => els.map((e) => ({ metric: e.dataset.metric, points: Number(e.dataset.points) })));
}

test('the tree shows a tracer and its run ingested over UDP', async ({ context }) => {
	const page = await openPage(context, BASE + '/');
	const tracer = await openTracer(page, 'web-ui-test');
	assert.match(await tracer.locator('.tracer-counts').textContent(), /^1 run$/);
	assert.equal(await tracer.locator(`li.run-item[data-run="${env.UI_RUN}"]`).count(), 1);
	assert.deepEqual(page.errors, []);
});

test('clicking the run draws one chart per metric with the data the API returned', async ({ context }) => {
	const page = await openPage(context, BASE + '/');
	await openTracer(page, 'web-ui-test');
	const item = page.locator(`li.run-item[data-run="${env.UI_RUN}"] button`);
	await item.waitFor();
	const answers = [];
	page.on('response', (r) => { if (r.url().includes('/series')) answers.push(r.json()); });
	await item.click();
	await page.waitForFunction(() => document.querySelectorAll('.chart canvas').length === 3);
	const sent = new Map((await Promise.all(answers)).flatMap((a) => a.series).map((s) => [s.metric, s]));
	const drawn = await chartPoints(page);
	assert.deepEqual(drawn.map((c) => c.metric), ['cpu', 'mem', 'threads']);
	assert.deepEqual([...sent.keys()].sort(), ['cpu', 'mem', 'threads']);
	// What uPlot holds is exactly what the API sent.
	const held = await page.evaluate(() => Object.fromEntries([...window.mnemic.charts.charts].map(([m, c]) => [m, c.data])));
	for (const [metric, s] of sent) {
		assert.deepEqual(held[metric], [s.ts, s.value], metric);
		assert.equal(s.value.filter((v) => v != null).length, 30, metric);
		assert.equal(drawn.find((c) => c.metric === metric).points, 30, metric);
	}
	assert.equal(new URL(page.url()).searchParams.get('run'), env.UI_RUN);
	// The run's summary loads beside the charts.
	await page.waitForFunction(() => document.getElementById('run-title').textContent !== '');
	assert.match(await page.textContent('#run-title'), /^web-ui-test$/);
	assert.deepEqual(page.errors, []);
});

test('dragging a zoom issues a narrower request, double-click resets', async ({ context }) => {
	const page = await openPage(context, `${BASE}/?run=${env.COMPARE_NEWER}`);
	await page.waitForFunction(() => document.querySelectorAll('.chart canvas').length === 1);
	// The summary above the chart loads beside it: once it is in, the chart
	// stays where it is measured (else it moves down and the drag misses).
	await page.waitForFunction(() => document.getElementById('run-title').textContent !== '');
	const full = await page.evaluate(() => window.mnemic.charts.charts.get('load').data[0]);
	const over = await page.locator('.chart .u-over').first().boundingBox();
	const drawn = await page.evaluate(() => document.body.dataset.chartsDrawn);
	const zoomed = page.waitForRequest((r) => r.url().includes('/series') && r.url().includes('from='));
	await page.mouse.move(over.x + over.width * 0.3, over.y + over.height / 2);
	await page.mouse.down();
	await page.mouse.move(over.x + over.width * 0.5, over.y + over.height / 2, { steps: 5 });
	await page.mouse.up();
	const url = new URL((await zoomed).url());
	const from = Number(url.searchParams.get('from'));
	const to = Number(url.searchParams.get('to'));
	const span = full[full.length - 1] - full[0];
	assert.ok(from > full[0] && to < full[full.length - 1], 'inside the run');
	assert.ok(to - from < span * 0.3, `narrower: ${to - from} of ${span}`);
	assert.equal(Number(url.searchParams.get('points')), await page.evaluate(() => window.mnemic.charts.plotWidth()));
	await page.waitForFunction(() => new URL(location.href).searchParams.has('from'));
	// The URL changes at once; the charts are drawn again when the zoomed
	// series arrive.
	await page.waitForFunction((before) => document.body.dataset.chartsDrawn !== before, drawn);
	const scale = await page.evaluate(() => { const p = window.mnemic.charts.charts.get('load').plot; return [p.scales.x.min, p.scales.x.max]; });
	assert.ok(Math.abs(scale[0] - from) < 1 && Math.abs(scale[1] - to) < 1, `scale ${scale}`);

	const reset = page.waitForRequest((r) => r.url().includes('/series') && !r.url().includes('from='));
	await page.locator('.chart .u-over').first().dblclick();
	await reset;
	await page.waitForFunction(() => !new URL(location.href).searchParams.has('from'));
	assert.deepEqual(page.errors, []);
});

test('a shared URL restores run and range', async ({ context }) => {
	const from = 1704067200 + 7200 + 100;
	const to = from + 300;
	const page = await context.newPage();
	const first = page.waitForRequest((r) => r.url().includes('/series'));
	await page.goto(`${BASE}/?run=${env.COMPARE_NEWER}&from=${from}&to=${to}`);
	const url = new URL((await first).url());
	assert.equal(Number(url.searchParams.get('from')), from);
	assert.equal(Number(url.searchParams.get('to')), to);
	await page.waitForFunction(() => document.querySelectorAll('.chart canvas').length === 1);
});

test('the chosen metrics go in the URL and come back from it', async ({ context }) => {
	const page = await openPage(context, `${BASE}/?run=${env.UI_RUN}`);
	await page.waitForFunction(() => document.querySelectorAll('.chart canvas').length === 3);
	await page.uncheck('#metric-picker input[value="mem"]');
	await page.waitForFunction(() => document.querySelectorAll('.chart canvas').length === 2);
	const url = new URL(page.url());
	assert.deepEqual(url.searchParams.getAll('metric'), ['cpu', 'threads']);
	const again = await openPage(context, url.href);
	await again.waitForFunction(() => document.querySelectorAll('.chart canvas').length === 2);
	assert.deepEqual(await again.$$eval('.chart', (els) => els.map((e) => e.dataset.metric)), ['cpu', 'threads']);
	assert.equal(await again.isChecked('#metric-picker input[value="mem"]'), false);
	assert.deepEqual([...page.errors, ...again.errors], []);
});

test('compare overlays another run of the same tracer aligned at start', async ({ context }) => {
	const page = await openPage(context, `${BASE}/?run=${env.COMPARE_NEWER}`);
	await page.waitForFunction(() => document.querySelectorAll('.chart canvas').length === 1);
	await page.waitForFunction((older) => [...document.querySelectorAll('#compare option')].some((o) => o.value === older), env.COMPARE_OLDER);
	await page.selectOption('#compare', env.COMPARE_OLDER);
	await page.waitForFunction(() => window.mnemic.charts.charts.get('load')?.plot.series.length === 3);
	const [xs, mine, theirs] = await page.evaluate(() => window.mnemic.charts.charts.get('load').data);
	// Both runs start together: the overlay's first point sits at this run's start.
	const firstTheirs = xs[theirs.findIndex((v) => v != null)];
	const firstMine = xs[mine.findIndex((v) => v != null)];
	assert.ok(Math.abs(firstTheirs - firstMine) < 2, `${firstTheirs} vs ${firstMine}`);
	assert.equal(new URL(page.url()).searchParams.get('compare'), env.COMPARE_OLDER);
	assert.deepEqual(page.errors, []);
});

test('a live run gains points without reload', async ({ context }) => {
	const socket = dgram.createSocket('udp4');
	const send = (msg) => new Promise((ok) => socket.send(JSON.stringify(msg), Number(env.UDP_PORT), '127.0.0.1', ok));
	// Each row is stored before the next goes: the run is active from then on,
	// and every row has its own arrival time, so each is a point of its own.
	let samples = (await runInfo(env.LIVE_RUN)).samples;
	const sendRow = async (value) => {
		await send({ msg_type: 'row', row_data: [value], uuid: env.LIVE_RUN });
		samples += 1;
		await until(`row ${value} stored`, async () => (await runInfo(env.LIVE_RUN)).samples >= samples);
	};
	try {
		// The run is active while data keeps coming: a row first, then watch.
		await sendRow(99);
		const page = await openPage(context, `${BASE}/?run=${env.LIVE_RUN}`);
		await page.waitForFunction(() => document.querySelectorAll('.chart canvas').length === 1);
		await page.evaluate(() => { window.notReloaded = true; });
		const before = (await chartPoints(page))[0].points;
		// The run's summary, which carries its state, loads beside the charts.
		await page.waitForFunction(() => window.mnemic.state.info != null);
		assert.equal(await page.isVisible('#run-live'), true, 'marked live');
		for (let i = 0; i < 12; i++)
			await sendRow(100 + i);
		await page.waitForFunction((n) => Number(document.querySelector('.chart').dataset.points) >= n + 10, before, { timeout: 15000 });
		assert.equal(await page.evaluate(() => window.notReloaded), true);
		const values = await page.evaluate(() => window.mnemic.charts.charts.get('ticks').data[1]);
		assert.equal(values[values.length - 1] >= 105, true, `last ${values[values.length - 1]}`);

		// Zoomed in, the run stops tailing; double-click resumes it.
		const over = await page.locator('.chart .u-over').first().boundingBox();
		await page.mouse.move(over.x + over.width * 0.2, over.y + 20);
		await page.mouse.down();
		await page.mouse.move(over.x + over.width * 0.6, over.y + 20, { steps: 4 });
		await page.mouse.up();
		await page.waitForFunction(() => new URL(location.href).searchParams.has('from'));
		assert.equal(await page.isVisible('#run-paused'), true, 'marked paused');
		let tails = 0;
		page.on('request', (r) => { if (r.url().includes('/tail')) tails++; });
		for (let i = 0; i < 8; i++)
			await sendRow(200 + i);
		// Watch until the page itself has learnt of the new rows (its periodic
		// refresh of the run): it knows there is more, and must not fetch it.
		await page.waitForFunction((n) => window.mnemic.state.info.samples >= n, samples, { timeout: 15000 });
		assert.equal(tails, 0, 'no tailing while zoomed');
		assert.equal(await page.evaluate(() => window.mnemic.state.tailing), false, 'no tail scheduled');
		const resumed = page.waitForRequest((r) => r.url().includes('/tail'), { timeout: 10000 });
		await sendRow(300);
		await page.locator('.chart .u-over').first().dblclick();
		await resumed;
		assert.deepEqual(page.errors, []);
	} finally {
		socket.close();
	}
});

test('the CSV downloads with its header', async ({ context }) => {
	const page = await openPage(context, `${BASE}/?run=${env.UI_RUN}`);
	await page.waitForFunction(() => document.querySelectorAll('.chart canvas').length === 3);
	// The link points at the CSV only once the run's summary, which loads
	// beside the charts, is in (index.html ships it with href="#").
	await page.waitForFunction((run) => document.getElementById('csv').getAttribute('href') === `/api/runs/${run}.csv`, env.UI_RUN);
	const download = page.waitForEvent('download');
	await page.click('#csv');
	const file = await (await download).path();
	const lines = fs.readFileSync(file, 'utf8').trim().split('\n');
	assert.equal(lines[0], 'ts,cpu,mem,threads');
	assert.equal(lines.length, 31);
	assert.equal((await download).suggestedFilename(), `mnemic-${env.UI_RUN}.csv`);
});

test('a hostile tracer name shows as text and runs no script', async ({ context }) => {
	const page = await openPage(context, BASE + '/');
	const name = page.locator('.tracer-name', { hasText: env.HOSTILE_TRACER });
	await name.waitFor();
	assert.equal(await name.textContent(), env.HOSTILE_TRACER);
	await openTracer(page, env.HOSTILE_TRACER);
	await page.locator(`li.run-item[data-run="${env.HOSTILE_RUN}"] button`).click();
	await page.waitForFunction(() => document.querySelectorAll('.chart canvas').length === 2);
	// the summary loads beside the charts, and may come after them
	await page.waitForFunction(() => document.getElementById('run-title').textContent !== '');
	assert.equal(await page.textContent('#run-title'), env.HOSTILE_TRACER);
	const titles = await page.$$eval('.chart-title', (els) => els.map((e) => e.textContent));
	assert.deepEqual(titles, ['<b>bold</b>', 'x"\'&;']);
	assert.equal(await page.locator('img, b, script:not([type="module"])').count(), 0, 'no element made from data');
	// An injected image would alert from its error handler: let every image
	// on the page load or fail first.
	await page.evaluate(() => Promise.all([...document.images].map((img) => img.complete ? null
		: new Promise((ok) => { img.addEventListener('load', ok); img.addEventListener('error', ok); }))));
	assert.deepEqual(page.dialogs, [], 'no alert ran');
	assert.deepEqual(page.errors, []);
});

// ---- many runs, many metrics ---------------------------------------------

const fleetRuns = JSON.parse(env.FLEET_RUNS ?? '[]');	// the newest 100, newest first
const manyMetrics = JSON.parse(env.MANY_METRICS ?? '[]');

const listedRuns = (item) => item.locator('li.run-item:not(.pinned)').evaluateAll(
	(lis) => lis.map((li) => li.dataset.run));

test('a tracer with 5,000 runs opens to its newest page', async ({ context }) => {
	const page = await openPage(context, BASE + '/');
	const item = tracerItem(page, env.FLEET);
	await item.waitFor();
	assert.match(await item.locator('.tracer-counts').textContent(), new RegExp(`^${env.FLEET_COUNT} runs$`));
	assert.equal(await page.locator('li.run-item').count(), 0, 'no runs until a tracer is opened');
	await openTracer(page, env.FLEET);
	assert.deepEqual(await listedRuns(item), fleetRuns.slice(0, 50));
	// Each run says where it ran.
	const first = item.locator('li.run-item').first();
	assert.match(await first.locator('.run-where').textContent(), /^web-\d · pid \d+ · serve\.py$/);
	assert.equal(await item.locator('li.more button').count(), 1);
	assert.deepEqual(page.errors, []);
});

test('"more" loads the next page', async ({ context }) => {
	const page = await openPage(context, BASE + '/');
	const item = await openTracer(page, env.FLEET);
	const pageAsked = page.waitForRequest((r) => r.url().includes('/api/runs?') && r.url().includes('before_run='));
	await item.locator('li.more button').click();
	const url = new URL((await pageAsked).url());
	assert.equal(url.searchParams.get('before_run'), fleetRuns[49]);
	await until('the second page', async () => (await listedRuns(item)).length === 100);
	assert.deepEqual(await listedRuns(item), fleetRuns.slice(0, 100));
	assert.deepEqual(page.errors, []);
});

test('a filter narrows the list and lives in the URL', async ({ context }) => {
	const page = await openPage(context, BASE + '/');
	await tracerItem(page, env.FLEET).waitFor();
	await page.fill('#filter', 'fleet host:web-3 state:ended');
	await page.waitForFunction(() => new URL(location.href).searchParams.get('filter') === 'fleet host:web-3 state:ended');
	// Only the tracers with such runs, counting only those.
	await until('the narrowed list', async () => (await page.locator('li.tracer').count()) === 1);
	const item = tracerItem(page, env.FLEET);
	// runs i with i % 4 = 3 and i % 7 = 0, for i in 1..5000
	const expected = Array.from({ length: Number(env.FLEET_COUNT) }, (_, i) => i + 1)
		.filter((i) => i % 4 === 3 && i % 7 === 0).length;
	await until('the filtered count', async () => (await item.locator('.tracer-counts').textContent()) === `${expected} runs`);
	await openTracer(page, env.FLEET);
	const wheres = await item.locator('li.run-item .run-where').allTextContents();
	assert.equal(wheres.length, 50);
	assert.ok(wheres.every((w) => w.startsWith('web-3 ')), wheres[0]);
	assert.equal(await item.locator('li.run-item .live').count(), 0, 'ended runs only');
	// The same URL opens the same view.
	const again = await openPage(context, page.url());
	await until('the filter restored', async () => (await again.locator('li.tracer').count()) === 1);
	assert.equal(await again.inputValue('#filter'), 'fleet host:web-3 state:ended');
	// A filter that keeps nothing says so.
	await again.fill('#filter', 'no-such-tracer-anywhere');
	await again.locator('#filter-empty').waitFor({ state: 'visible' });
	assert.deepEqual([...page.errors, ...again.errors], []);
});

test('a shared URL to an old run opens it', async ({ context }) => {
	const page = await openPage(context, `${BASE}/?run=${env.FLEET_OLD}`);
	await page.waitForFunction(() => document.querySelectorAll('.chart canvas').length === 2);
	// the summary loads beside the charts, and may come after them
	await page.waitForFunction(() => document.getElementById('run-title').textContent !== '');
	assert.equal(await page.textContent('#run-title'), env.FLEET);
	// Its tracer opens to the newest page, with the run shown pinned on top.
	const item = tracerItem(page, env.FLEET);
	const pinned = item.locator(`li.run-item.pinned.selected[data-run="${env.FLEET_OLD}"]`);
	await pinned.waitFor();
	assert.ok(!fleetRuns.slice(0, 50).includes(env.FLEET_OLD));
	assert.deepEqual((await listedRuns(item)).slice(0, 3), fleetRuns.slice(0, 3));
	assert.deepEqual(page.errors, []);
});

test('300 metrics: charts drawn as they scroll into view, in groups', async ({ context }) => {
	const page = await openPage(context, `${BASE}/?run=${env.MANY_RUN}`);
	await page.waitForFunction(() => document.querySelectorAll('.chart canvas').length > 0);
	await page.waitForFunction(() => document.body.dataset.chartsDrawn);
	const slots = await page.locator('.chart').count();
	const drawn = await page.locator('.chart canvas').count();
	assert.equal(slots, 300, 'a slot per metric');
	assert.ok(drawn < 40, `only the charts near the view are drawn: ${drawn}`);
	const groups = await page.locator('.chart-group').allTextContents();
	assert.equal(groups[0], 'Built-in (12)');
	assert.equal(groups[1], '@profiler handler_00 (3)');
	assert.equal(groups[groups.length - 1], 'Custom (198)');
	assert.equal(groups.length, 32);
	// The picker groups its checkboxes; a run this large starts them folded,
	// and the group of 198 inside too.
	assert.equal(await page.locator('#metric-choose').evaluate((d) => d.open), false);
	assert.equal(await page.locator('#metric-picker details.metric-group').count(), 32);
	assert.equal(await page.locator('#metric-picker details.metric-group[open]').count(), 31,
		'all but the 198 custom ones, whose group is folded');
	// Scrolling to the end draws the last chart, with its data.
	const last = page.locator(`.chart[data-metric="${manyMetrics[299]}"]`);
	await last.scrollIntoViewIfNeeded();
	await last.locator('canvas').first().waitFor();
	assert.equal(Number(await last.getAttribute('data-points')), 20);
	assert.ok(await page.locator('.chart canvas').count() < 300);
	assert.deepEqual(page.errors, []);
});

test('the metric filter takes a pattern and lives in the URL', async ({ context }) => {
	const page = await openPage(context, `${BASE}/?run=${env.MANY_RUN}`);
	await page.waitForFunction(() => document.querySelectorAll('.chart canvas').length > 0);
	await page.fill('#metric-match', '*_hits');
	await until('30 charts', async () => (await page.locator('.chart').count()) === 30);
	const metrics = await page.$$eval('.chart', (els) => els.map((e) => e.dataset.metric));
	assert.ok(metrics.every((m) => m.endsWith('_hits')), metrics[0]);
	assert.equal(new URL(page.url()).searchParams.get('match'), '*_hits');
	assert.match(await page.textContent('#metric-count'), /^30 of 300 shown$/);
	await page.fill('#metric-match', '/^custom_00[0-4]$/ open_fds');
	await until('6 charts', async () => (await page.locator('.chart').count()) === 6);
	await page.waitForFunction(() => document.querySelectorAll('.chart canvas').length === 6);
	const again = await openPage(context, page.url());
	await again.waitForFunction(() => document.querySelectorAll('.chart canvas').length === 6);
	assert.equal(await again.inputValue('#metric-match'), '/^custom_00[0-4]$/ open_fds');
	// A group's box chooses all its metrics.
	await again.fill('#metric-match', '');
	await until('all slots', async () => (await again.locator('.chart').count()) === 300);
	await again.click('#metric-choose > summary');
	await again.locator('details.metric-group', { hasText: 'Built-in' }).locator('input.group-box').uncheck();
	await until('the built-ins gone', async () => (await again.locator('.chart').count()) === 288);
	assert.equal(new URL(again.url()).searchParams.getAll('metric').length, 288);
	assert.deepEqual([...page.errors, ...again.errors], []);
});

test('refreshes carry only what changed, and show a new run', async ({ context }) => {
	const page = await openPage(context, BASE + '/');
	const item = await openTracer(page, 'web-ui-test');
	const answers = [];
	page.on('response', async (r) => {
		if (r.url().includes('changed_since='))
			answers.push({ url: r.url(), body: await r.text() });
	});
	// An idle refresh: one small request, nothing in it.
	await until('a refresh', async () => answers.length > 0, 15000);
	assert.ok(answers[0].url.includes('/api/tracers?'));
	// (Runs of other tests may stop being active meanwhile: that is a change.)
	const idle = answers.find((a) => JSON.parse(a.body).tracers.length === 0);
	if (idle)
		assert.ok(idle.body.length < 200, idle.body);
	// A new run of the open tracer arrives over UDP: it shows up on top.
	const socket = dgram.createSocket('udp4');
	const run = crypto.randomUUID();
	try {
		const send = (msg) => new Promise((ok) => socket.send(JSON.stringify(msg), Number(env.UDP_PORT), '127.0.0.1', ok));
		await send({ msg_type: 'create_trace_run', app_name: 'web-ui-test', column_names: ['cpu', 'mem', 'threads'], uuid: run });
		await send({ msg_type: 'row', row_data: [1, 2, 3], uuid: run });
		await until('the new run listed', async () => (await listedRuns(item))[0] === run, 20000);
		assert.match(await item.locator('.tracer-counts').textContent(), /^2 runs$/);
		const runsAsked = answers.filter((a) => a.url.includes('/api/runs?'));
		assert.ok(runsAsked.length > 0 && runsAsked.every((a) => a.url.includes('tracer=web-ui-test')),
			'only the open tracer that changed is asked for its runs');
	} finally {
		socket.close();
	}
	assert.deepEqual(page.errors, []);
});

test('screenshot of a run for the record', async ({ context }) => {
	const page = await openPage(context, `${BASE}/?run=${env.UI_RUN}`);
	await page.waitForFunction(() => document.querySelectorAll('.chart canvas').length === 3);
	const file = path.join(env.ARTIFACTS, 'mnemic-web.png');
	await page.screenshot({ path: file, fullPage: true });
	assert.ok(fs.statSync(file).size > 10000);
	const compare = await openPage(context, `${BASE}/?run=${env.COMPARE_NEWER}&compare=${env.COMPARE_OLDER}`);
	await compare.waitForFunction(() => window.mnemic.charts.charts.get('load')?.plot.series.length === 3);
	await compare.screenshot({ path: path.join(env.ARTIFACTS, 'mnemic-web-compare.png'), fullPage: true });
});

// The same UI through HTTPS and a password (run.py starts a second server
// with a throw-away certificate and a digest password file).
test('over TLS with a password the UI loads and draws a run', async () => {
	const guarded = await launchBrowser({
		httpCredentials: { username: env.GUARDED_USER, password: env.GUARDED_PASSWORD },
		ignoreHTTPSErrors: true,
	});
	try {
		const page = await openPage(guarded.context, `${env.GUARDED_URL}/?run=${env.UI_RUN}`);
		assert.ok(env.GUARDED_URL.startsWith('https://'));
		await page.waitForFunction(() => document.querySelectorAll('.chart canvas').length === 3);
		assert.deepEqual(page.errors, []);
		// Without the password the same address refuses.
		const refused = await fetch(`http://127.0.0.1:${new URL(env.GUARDED_URL).port}/`).catch(() => null);
		assert.ok(refused === null || refused.status !== 200);
	} finally {
		await guarded.close();
	}
});

const browser = await launchBrowser();
let passed = 0;
let failed = 0;
const only = process.env.TEST_FILTER;
for (const t of tests) {
	if (only && !t.name.includes(only))
		continue;
	try {
		await t.fn({ context: browser.context });
		passed++;
		console.log(`ok - ${t.name}`);
	} catch (e) {
		failed++;
		console.log(`not ok - ${t.name}\n  ${String(e.stack || e).split('\n').join('\n  ')}`);
	}
	for (const p of browser.context.pages())
		await p.close();
}
await browser.close();
console.log(`browser tests: ${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
