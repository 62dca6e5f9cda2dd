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

test('a dropped network reconnects by itself, and an outage shows repeated failed attempts', async () => {
  const page = await openPage(browser);
  await status(page).and(page.locator('[data-state=CONNECTED]')).waitFor({ timeout: 15_000 });

  // Drop network: the server cuts the TCP connection with no close frame.
  await page.getByRole('button', { name: 'Drop network' }).click();
  await status(page).and(page.locator('[data-state=RECONNECTING]')).waitFor();
  await page.getByTestId('retry-line').filter({ hasText: /Reconnect attempt 1/ }).waitFor();
  await status(page).and(page.locator('[data-state=CONNECTED]')).waitFor({ timeout: 15_000 });
  const log = await page.getByRole('list', { name: 'Connection event log' }).innerText();
  assert.match(log, /CONNECTED → RECONNECTING: socket dropped \(code 1006\)/);

  // An outage: every attempt fails until it ends, with the attempt number climbing.
  await page.getByLabel('Server unreachable for').fill('4');
  await page.getByLabel('Server unreachable for').press('Tab');
  await page.getByRole('button', { name: 'Start outage' }).click();
  await page.getByTestId('fault-line').filter({ hasText: /Server unreachable for this device: \d/ }).waitFor();
  await page.getByTestId('retry-line').filter({ hasText: /Reconnect attempt [2-9] in \d/ }).waitFor({ timeout: 15_000 });
  await status(page).and(page.locator('[data-state=CONNECTED]')).waitFor({ timeout: 30_000 });
  assert.deepEqual(page.consoleErrors, []);
  await page.close();
});
