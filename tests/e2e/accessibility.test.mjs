// axe-core finds no accessibility violations on the page, at desktop and phone widths:
// on a fresh load, and once the tick lab has shown its blue READ tick and the wire
// inspector is open (the states a fresh page does not have).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { axeViolations, labReady, launchBrowser, openPage } from './support.mjs';

let browser;
before(async () => { browser = await launchBrowser(); });
after(async () => { await browser?.close(); });

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
    await page.getByRole('button', { name: 'Wire inspector' }).click();
    await page.getByTestId('wire-frames').locator('li').first().waitFor();
    assert.deepEqual(await axeViolations(page), [], 'after READ, with the wire inspector open');
    assert.deepEqual(page.consoleErrors, []);
    await page.close();
  });
}
