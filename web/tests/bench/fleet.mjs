// fleet.mjs: the UI over 100,000 runs in headless Chromium.  The page marks
// body[data-tree-drawn] with performance.now() (ms since navigation start)
// when the tracer list is drawn, and body[data-charts-drawn] when a batch
// of charts is.
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const { launchBrowser } = await import(path.join(here, '..', 'browser', 'browser.mjs'));

const { BASE_URL, TRACER, OLD_RUN } = process.env;
const LOADS = 5;

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const range = (xs) => `min ${Math.min(...xs).toFixed(0)} ms, max ${Math.max(...xs).toFixed(0)} ms`;

const browser = await launchBrowser({ width: 1400, height: 900 });
const page = await browser.context.newPage();
const paints = [];
const opens = [];
let items = 0;
let bytes = 0;
for (let i = 0; i < LOADS + 1; i++) {
	await page.goto(`${BASE_URL}/?i=${i}`);
	await page.waitForFunction(() => document.body.dataset.treeDrawn, null, { timeout: 60000 });
	const drawn = await page.evaluate(() => Number(document.body.dataset.treeDrawn));
	// Open one tracer: from the click to its first page drawn.
	const opened = await page.evaluate(async (tracer) => {
		const li = [...document.querySelectorAll('li.tracer')].find((l) => l.dataset.tracer === tracer);
		const t0 = performance.now();
		li.querySelector('.tracer-head').click();
		while (li.querySelectorAll('li.run-item').length === 0)
			await new Promise((ok) => requestAnimationFrame(ok));
		return performance.now() - t0;
	}, TRACER);
	if (i > 0) {	// the first load fills the browser's and the server's caches
		paints.push(drawn);
		opens.push(opened);
	}
	items = await page.evaluate(() => document.querySelectorAll('#tree li').length);
	bytes = await page.evaluate(() => performance.getEntriesByType('resource')
		.filter((r) => r.name.includes('/api/tracers')).reduce((n, r) => n + r.encodedBodySize, 0));
}
console.log(`first paint, navigation to the tracer list drawn: median ${median(paints).toFixed(0)} ms, ` +
	`${range(paints)} over ${LOADS} loads (target <= 1000 ms); ${items} list items, ` +
	`${(bytes / 1024).toFixed(1)} KB of /api/tracers`);
console.log(`opening a tracer, click to its newest page drawn: median ${median(opens).toFixed(0)} ms, ${range(opens)}`);

const shared = [];
for (let i = 0; i < LOADS + 1; i++) {
	await page.goto(`${BASE_URL}/?run=${OLD_RUN}&i=${i}`);
	await page.waitForFunction(() => document.body.dataset.chartsDrawn &&
		document.querySelectorAll('.chart canvas').length === 2, null, { timeout: 60000 });
	await page.waitForFunction((run) => document.querySelector(`li.run-item.selected[data-run="${run}"]`),
		OLD_RUN, { timeout: 60000 });
	if (i > 0)
		shared.push(await page.evaluate(() => Number(document.body.dataset.chartsDrawn)));
}
console.log(`a shared URL to a run ${process.env.DEEP} deep in its tracer, navigation to its charts drawn: ` +
	`median ${median(shared).toFixed(0)} ms, ${range(shared)}`);
await browser.close();
