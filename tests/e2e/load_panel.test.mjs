// The load panel in the scale section, driven by a student in a real browser against the
// real server: a small run's samples are charted and it ends with an exact ledger. No
// throughput figure is asserted; the machine running the tests decides those.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { labReady, launchBrowser, openPage } from './support.mjs';

let browser;
before(async () => { browser = await launchBrowser(); });
after(async () => { await browser?.close(); });

test('a small load run charts each second against the 58K line and ends with lost 0 · duplicated 0', async () => {
  const page = await openPage(browser);
  await labReady(page);
  const panel = page.locator('.load-panel');
  // The caps come from the server and are part of the labels.
  const pairs = panel.getByLabel('Pairs (1–50)');
  const seconds = panel.getByLabel('Seconds (1–20)');
  await pairs.fill('2');
  await pairs.press('Tab');
  await seconds.fill('2');
  await seconds.press('Tab');
  const start = panel.getByRole('button', { name: 'Start the load run' });
  await start.click();

  const ledger = page.getByTestId('load-ledger');
  await ledger.and(page.locator('[data-final=true]')).waitFor({ timeout: 60_000 });
  const status = page.getByTestId('load-status');
  assert.equal(await status.getAttribute('data-state'), 'finished');
  assert.match(await status.innerText(), /✓ Finished: 2 pairs for 2 s/);
  assert.equal(await ledger.innerText(), 'lost 0 · duplicated 0');

  // Two seconds, two samples: a bar each under the dashed 58K line, and a p99 dot each.
  const chart = page.getByTestId('load-chart');
  assert.equal(await chart.locator('svg.chart-rate rect.bar').count(), 2);
  assert.equal(await chart.locator('svg.chart-rate line.target').count(), 1);
  assert.equal(await chart.locator('svg.chart-p99 circle.p99-dot').count(), 2);
  assert.match(await chart.innerText(), /Log scale/);
  assert.match(await page.getByTestId('load-peak').innerText(), /^[\d,]+ msgs\/s$/);
  const [sent, delivered] = (await page.getByTestId('load-totals').innerText()).split(' · ');
  assert.equal(sent, delivered, 'every message sent was ticked DELIVERED');
  assert.match(await page.getByTestId('load-compare').innerText(), /of WhatsApp's 58,000 a second/);
  assert.equal(await start.isEnabled(), true, 'the next run may start');
  assert.deepEqual(page.consoleErrors, []);
  await page.close();
});
