// The walking skeleton in a real browser: the served page opens a WebSocket to the
// server, completes the hello/welcome handshake, and shows the state live.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launchBrowser, openPage } from './support.mjs';

let browser;
before(async () => { browser = await launchBrowser(); });
after(async () => { await browser?.close(); });

const status = (page) => page.getByTestId('connection-status');

test('the page connects and shows CONNECTED', async () => {
  const page = await openPage(browser);
  await status(page).and(page.locator('[data-state=CONNECTED]')).waitFor({ timeout: 15_000 });
  const log = await page.getByRole('list', { name: 'Connection event log' }).innerText();
  assert.match(log, /WebSocket client initialized, state=DISCONNECTED/);
  assert.match(log, /welcome from bluetick\//);
  assert.equal(
    await page.locator('.state-diagram [aria-current=step]').getAttribute('data-state'),
    'CONNECTED',
  );
  assert.deepEqual(page.consoleErrors, []);
  await page.close();
});

test('disconnect and connect again from the keyboard', async () => {
  const page = await openPage(browser);
  await status(page).and(page.locator('[data-state=CONNECTED]')).waitFor({ timeout: 15_000 });
  await page.getByRole('button', { name: 'Disconnect', exact: true }).focus();
  await page.keyboard.press('Enter');
  await status(page).and(page.locator('[data-state=DISCONNECTED]')).waitFor();
  await page.getByRole('button', { name: 'Connect', exact: true }).focus();
  await page.keyboard.press('Enter');
  await status(page).and(page.locator('[data-state=CONNECTED]')).waitFor();
  assert.deepEqual(page.consoleErrors, []);
  await page.close();
});
