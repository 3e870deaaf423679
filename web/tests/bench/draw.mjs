// draw.mjs: time from navigation to every chart drawn, in headless Chromium.
// The page marks body[data-charts-drawn] with performance.now() (ms since
// navigation start) when the last chart of a load is drawn.
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const { launchBrowser } = await import(path.join(here, '..', 'browser', 'browser.mjs'));

const { BASE_URL, RUN } = process.env;
const METRICS = Number(process.env.METRICS);
const LOADS = 5;

const browser = await launchBrowser({ width: 1400, height: 900 });
const page = await browser.context.newPage();
const times = [];
const breakdown = [];
for (let i = 0; i < LOADS + 1; i++) {
	await page.goto(`${BASE_URL}/?run=${RUN}&i=${i}`);
	await page.waitForFunction((n) => document.body.dataset.chartsDrawn &&
		document.querySelectorAll('.chart canvas').length === n, METRICS, { timeout: 60000 });
	const drawn = await page.evaluate(() => Number(document.body.dataset.chartsDrawn));
	const series = await page.evaluate(() => {
		const e = performance.getEntriesByType('resource').find((r) => r.name.includes('/series'));
		return e ? [e.requestStart, e.responseStart, e.responseEnd] : [];
	});
	if (i > 0) {	// the first load fills the browser's and the server's caches
		times.push(drawn);
		breakdown.push(series);
	}
}
if (process.env.BENCH_VERBOSE)
	console.log(await page.evaluate(() => performance.getEntriesByType('resource').map((r) =>
		`${r.name.replace(location.origin, '').slice(0, 60)} ${r.startTime.toFixed(0)}-${r.responseEnd.toFixed(0)}`).join('\n')));
await browser.close();
times.sort((a, b) => a - b);
const median = times[Math.floor(times.length / 2)];
console.log(`navigation to all ${METRICS} charts drawn: median ${median.toFixed(0)} ms, ` +
	`(series request sent at ${breakdown.map((b) => b[0].toFixed(0)).join('/')} ms, ` +
	`answered by ${breakdown.map((b) => b[2].toFixed(0)).join('/')} ms), min ${times[0].toFixed(0)} ms, max ${times[times.length - 1].toFixed(0)} ms over ${LOADS} loads (target <= 500 ms)`);
