// axe-core finds no accessibility violations on the page, at desktop and phone widths:
// on a fresh load; once the tick lab has shown its blue READ tick and the wire
// inspector is open; in the dark scheme; and after the connection lab's outage has run
// (the states a fresh page does not have).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { axeViolations, labReady, launchBrowser, openPage } from './support.mjs';

let browser;
before(async () => { browser = await launchBrowser(); });
after(async () => { await browser?.close(); });

// The contrast of the READ tick's symbol and word against what is behind them. axe
// skips the symbol (it is aria-hidden, the word says it), so it is measured here.
async function readTickContrast(page) {
  return page.locator('.tick-blue[data-tick=read]').first().evaluate((tick) => {
    const rgb = (c) => c.match(/[\d.]+/g).map(Number);
    const luminance = ([r, g, b]) => {
      const f = (v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; };
      return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b);
    };
    let behind = tick;
    while (behind && rgb(getComputedStyle(behind).backgroundColor)[3] === 0) behind = behind.parentElement;
    const bg = luminance(rgb(getComputedStyle(behind ?? document.body).backgroundColor));
    return [tick.querySelector('.tick-symbol'), tick.querySelector('.tick-word')].map((part) => {
      const fg = luminance(rgb(getComputedStyle(part).color));
      return (Math.max(fg, bg) + 0.05) / (Math.min(fg, bg) + 0.05);
    });
  });
}

for (const width of [1280, 375]) {
  test(`no axe-core violations at ${width} px, fresh and after a message is read`, async () => {
    const page = await openPage(browser, { width, height: 900 });
    await labReady(page);
    assert.deepEqual(await axeViolations(page), [], 'a fresh page');

    const journey = page.locator('.journey');
    const message = page.getByTestId('journey-message');
    await journey.getByRole('button', { name: 'Alice sends a message' }).click();
    await message.locator('[data-tick=delivered]').waitFor({ timeout: 10_000 });
    await journey.getByRole('button', { name: 'Bob opens the chat' }).click();
    await message.locator('.tick-blue[data-tick=read]').waitFor({ timeout: 10_000 });
    // Reduced motion, so that no colour is caught half way through its transition.
    for (const colorScheme of ['light', 'dark']) {
      await page.emulateMedia({ colorScheme, reducedMotion: 'reduce' });
      for (const ratio of await readTickContrast(page)) {
        assert.ok(ratio >= 4.5, `READ tick ${ratio.toFixed(2)}:1 in the ${colorScheme} scheme`);
      }
    }
    assert.deepEqual(await axeViolations(page), [], 'after READ, dark scheme');
    await page.emulateMedia({ colorScheme: 'light' });
    await page.getByRole('button', { name: 'Wire inspector' }).click();
    await page.getByTestId('wire-frames').locator('li').first().waitFor();
    assert.deepEqual(await axeViolations(page), [], 'after READ, with the wire inspector open');
    assert.deepEqual(page.consoleErrors, []);
    await page.close();
  });

  test(`no axe-core violations at ${width} px after the connection lab's outage, inspector open`, async () => {
    const page = await openPage(browser, { width, height: 900 });
    await labReady(page);
    const status = page.getByTestId('connection-status');
    await page.getByRole('button', { name: 'Connect', exact: true }).click();
    await status.and(page.locator('[data-state=CONNECTED]')).waitFor({ timeout: 15_000 });
    await page.getByLabel('Server unreachable for').fill('2');
    await page.getByLabel('Server unreachable for').press('Tab');
    await page.getByRole('button', { name: 'Start outage' }).click();
    await page.getByTestId('backoff-timeline').locator('li[data-outcome=failed]').first().waitFor({ timeout: 15_000 });
    assert.deepEqual(await axeViolations(page), [], 'during the outage');
    await status.and(page.locator('[data-state=CONNECTED]')).waitFor({ timeout: 30_000 });
    await page.getByRole('button', { name: 'Wire inspector' }).click();
    await page.getByTestId('wire-frames').locator('li').first().waitFor();
    assert.deepEqual(await axeViolations(page), [], 'after the outage, with the wire inspector open');
    assert.deepEqual(page.consoleErrors, []);
    await page.close();
  });
}
