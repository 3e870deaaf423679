// browser.mjs: Debian's Chromium through playwright-core, headless, with a
// fresh profile that is removed afterwards.  Never downloads a browser.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const { chromium } = await import(path.join(here, '..', '..', 'node_modules', 'playwright-core', 'index.mjs'));

// httpCredentials answer a server's password prompt (digest or basic);
// ignoreHTTPSErrors accepts a test's self-signed certificate.
export async function launchBrowser({ width = 1280, height = 900, httpCredentials,
	ignoreHTTPSErrors = false } = {}) {
	const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'mnemic-chromium-'));
	const context = await chromium.launchPersistentContext(profile, {
		executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
		headless: true,
		acceptDownloads: true,
		viewport: { width, height },
		httpCredentials,
		ignoreHTTPSErrors,
		args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
			'--disable-quic', '--no-first-run', '--disable-component-update', '--disable-sync'],
	});
	return {
		context,
		async close() {
			await context.close();
			fs.rmSync(profile, { recursive: true, force: true });
		},
	};
}
