// Shared set-up for the browser end-to-end tests: Debian's Chromium through
// playwright-core (which never downloads a browser of its own).
import { readFileSync } from 'node:fs';
import { chromium } from 'playwright-core';

export const baseUrl = process.env.BLUETICK_URL;
if (!baseUrl) {
  throw new Error('BLUETICK_URL is not set: run these tests through scripts/e2e.sh');
}

export async function launchBrowser() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
    ],
  });
}

// Fails the test with the page's console errors, which are otherwise invisible.
export async function openPage(browser, { width = 1280, height = 900, path = '' } = {}) {
  const page = await browser.newPage({ viewport: { width, height } });
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
  page.consoleErrors = errors;
  await page.goto(new URL(path, baseUrl).href);
  if (path.startsWith('teach')) {
    await page.locator('main#teach-main').waitFor();
    return page;
  }
  // The load event can come before the wasm has started and drawn the page (its module
  // script awaits the wasm), so wait for the app's own <main>: index.html has none.
  await page.locator('main#main').waitFor();
  return page;
}

// Waits until the page's lab sandbox is ready and Alice and Bob are connected.
export async function labReady(page) {
  await page.locator('#offline-queue .phone-status[data-state=CONNECTED]').nth(1).waitFor({ timeout: 15_000 });
}

// axe-core's accessibility violations on the page as it is now, one line each
// ("rule (impact): help — selector"), so a failure says what and where.
const axeSource = readFileSync(new URL('../../node_modules/axe-core/axe.min.js', import.meta.url), 'utf8');
export async function axeViolations(page) {
  if (!(await page.evaluate(() => 'axe' in window))) {
    await page.addScriptTag({ content: axeSource });
  }
  const { violations } = await page.evaluate(() => window.axe.run(document, { resultTypes: ['violations'] }));
  return violations.flatMap((v) => v.nodes.map((n) => `${v.id} (${v.impact}): ${v.help} — ${n.target.join(' ')}`));
}
