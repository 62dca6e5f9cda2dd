// Predict, then reveal, in the labs: a student commits a prediction, the real system
// runs, and the page says whether it held, from what the server and the devices really
// did; the header keeps the tally. Also: limits the server applies are said aloud, and
// the fan-out grid shows DELIVERED before READ.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { axeViolations, labReady, launchBrowser, openPage } from './support.mjs';

let browser;
before(async () => { browser = await launchBrowser(); });
after(async () => { await browser?.close(); });

const tally = (page) => page.locator('header [data-testid=prediction-tally]');
const prompt = (page, key) => page.getByTestId(`prediction-${key}`);

async function waitForTally(page, text) {
  await tally(page).filter({ hasText: text }).waitFor({ timeout: 20_000 });
}

// Bob goes offline, Alice sends `n`, the student predicts `choice`, Bob comes back.
async function offlineOrder(page, n, choice) {
  const lab = page.locator('#offline-queue');
  const online = lab.getByRole('button', { name: 'Bring Bob online' });
  await lab.getByRole('button', { name: 'Take Bob offline' }).click();
  await page.getByLabel('Messages', { exact: true }).fill(String(n));
  await page.getByLabel('Messages', { exact: true }).press('Tab');
  await lab.getByRole('button', { name: 'Simulate messages' }).click();
  await page.locator(`[data-testid=queue-count][data-waiting="${n}"]`).waitFor({ timeout: 10_000 });
  const question = prompt(page, 'offline-order');
  await question.getByText(`Bob has been offline for ${n} messages.`).waitFor({ timeout: 10_000 });
  assert.equal(await online.isDisabled(), true, 'no reconnecting before a prediction');
  await question.getByLabel(choice, { exact: true }).check();
  await online.click();
  await page.locator('[data-testid=bob-flush][data-drained=true]').waitFor({ timeout: 20_000 });
}

async function retryRows(page, choice) {
  const start = page.getByRole('button', { name: 'Start a retry storm' });
  assert.equal(await start.isDisabled(), true, 'no storm before a prediction');
  await prompt(page, 'retry-rows').getByLabel(choice, { exact: true }).check();
  await start.click();
}

async function forwardSecrecy(page, choice) {
  await page.getByLabel('Message', { exact: true }).fill('meet at the north gate');
  await page.getByRole('button', { name: 'Encrypt and send as Alice →' }).click();
  const row = page.getByTestId('cipher-rows').locator('.cipher-row').first();
  await row.getByTestId('bob-view').getByTestId('decrypted').waitFor({ timeout: 20_000 });
  await row.getByTestId('server-body').waitFor({ state: 'attached', timeout: 20_000 });
  const steal = page.getByRole('button', { name: "Steal Bob's session and decrypt the captured message" });
  assert.equal(await steal.isDisabled(), true, 'no theft before a prediction');
  await prompt(page, 'forward-secrecy').getByLabel(choice, { exact: true }).check();
  await steal.click();
}

test('each prediction is revealed from the real outcome and counted: right, wrong, right', async () => {
  const page = await openPage(browser);
  await labReady(page);
  await waitForTally(page, 'Predictions: 0 of 3 made, 0 right');

  await offlineOrder(page, 4, 'In the order Alice sent them');
  const order = prompt(page, 'offline-order');
  await order.and(page.locator('[data-state=held]')).waitFor({ timeout: 20_000 });
  const told = await page.getByTestId('prediction-offline-order-reveal').innerText();
  assert.match(told, /✓ Your prediction held/);
  // The explanation names the order the messages really arrived in, and their seqs.
  assert.match(told, /received all 4 in the order Alice sent them: “message 1”, “message 2”, “message 3”, “message 4”/);
  assert.match(told, /entries #\d+ to #\d+/);
  await waitForTally(page, 'Predictions: 1 of 3 made, 1 right');

  await retryRows(page, '21 rows');
  const rows = prompt(page, 'retry-rows');
  await rows.and(page.locator('[data-state=missed]')).waitFor({ timeout: 20_000 });
  const storm = await page.getByTestId('prediction-retry-rows-reveal').innerText();
  assert.match(storm, /✗ Not this time\. You predicted “21 rows”; what happened: “1 row”\./);
  assert.match(storm, /The server reports 1 row for this id after 21 send frames and 21 SENT acks, and 1 delivery for Bob/);
  assert.match(await rows.innerText(), /✓ what happened/);
  await waitForTally(page, 'Predictions: 2 of 3 made, 1 right');

  await forwardSecrecy(page, "No: that message's key no longer exists");
  await prompt(page, 'forward-secrecy').and(page.locator('[data-state=held]')).waitFor({ timeout: 10_000 });
  const secrecy = await page.getByTestId('prediction-forward-secrecy-reveal').innerText();
  assert.match(secrecy, /✓ Your prediction held/);
  assert.match(secrecy, /tried them on the captured “meet at the north gate”, and vodozemac refused: /);
  await waitForTally(page, 'Predictions: 3 of 3 made, 2 right');
  // Revealed predictions are accessible at desktop and phone widths.
  assert.deepEqual(await axeViolations(page), [], 'revealed, 1280 px');
  await page.setViewportSize({ width: 375, height: 812 });
  assert.deepEqual(await axeViolations(page), [], 'revealed, 375 px');

  // The tally and the verdicts survive a reload (localStorage).
  await page.reload();
  await labReady(page);
  await waitForTally(page, 'Predictions: 3 of 3 made, 2 right');
  await prompt(page, 'retry-rows').and(page.locator('[data-state=missed]')).waitFor();
  // The revealed question still reads as it was asked, in the past.
  assert.match(await prompt(page, 'offline-order').innerText(), /When he reconnected, in what order did they arrive\?/);
  assert.deepEqual(page.consoleErrors, []);
  await page.close();
});

test('the opposite predictions: wrong, right, wrong, and one can be made again', async () => {
  const page = await openPage(browser);
  await labReady(page);
  await offlineOrder(page, 3, 'Newest first');
  await prompt(page, 'offline-order').and(page.locator('[data-state=missed]')).waitFor({ timeout: 20_000 });
  assert.match(
    await page.getByTestId('prediction-offline-order-reveal').innerText(),
    /✗ Not this time\. You predicted “Newest first”; what happened: “In the order Alice sent them”\./,
  );
  await waitForTally(page, 'Predictions: 1 of 3 made, 0 right');

  await retryRows(page, '1 row');
  await prompt(page, 'retry-rows').and(page.locator('[data-state=held]')).waitFor({ timeout: 20_000 });
  assert.match(await page.getByTestId('prediction-retry-rows-reveal').innerText(), /ON CONFLICT DO NOTHING ignored it/);
  await waitForTally(page, 'Predictions: 2 of 3 made, 1 right');

  await forwardSecrecy(page, 'Yes: the session they stole decrypts it');
  await prompt(page, 'forward-secrecy').and(page.locator('[data-state=missed]')).waitFor({ timeout: 10_000 });
  assert.match(await page.getByTestId('prediction-forward-secrecy-reveal').innerText(), /vodozemac refused/);
  await waitForTally(page, 'Predictions: 3 of 3 made, 1 right');

  // "Predict again" clears one prediction; the action waits for a new one.
  await prompt(page, 'retry-rows').getByRole('button', { name: 'Predict again' }).click();
  await waitForTally(page, 'Predictions: 2 of 3 made, 0 right');
  assert.equal(await page.getByRole('button', { name: 'Start a retry storm' }).isDisabled(), true);
  assert.deepEqual(page.consoleErrors, []);
  await page.close();
});

test('the load panel and the fan-out lab say their caps aloud', async () => {
  const page = await openPage(browser);
  await labReady(page);
  const pairs = page.locator('.load-panel').getByLabel('Pairs (1–50)');
  await pairs.fill('500');
  await pairs.press('Tab');
  await page.getByTestId('load-capped').filter({ hasText: 'You asked for 500 pairs: capped at 50 pairs on this server' }).waitFor();
  assert.equal(await pairs.inputValue(), '50', 'the field shows what will run');
  await pairs.fill('20');
  await pairs.press('Tab');
  await page.getByTestId('load-capped').filter({ hasText: /^$/ }).waitFor({ state: 'attached' });

  const size = page.getByLabel('Group size');
  await size.fill('2000');
  await size.press('Tab');
  await page.getByTestId('fanout-capped')
    .filter({ hasText: 'You asked for 2000 members: groups are capped at 1024 members' }).waitFor();
  assert.equal(await size.inputValue(), '1024');
  for (const width of [1280, 375]) {
    await page.setViewportSize({ width, height: 812 });
    assert.deepEqual(await axeViolations(page), [], `caps said, ${width} px`);
  }
  assert.deepEqual(page.consoleErrors, []);
  await page.close();
});

test('fan-out cells show DELIVERED before READ, and the figures say which step trails', async () => {
  const page = await openPage(browser);
  await labReady(page);
  await page.getByLabel('Group size').fill('6');
  await page.getByLabel('Group size').press('Tab');
  await page.getByRole('button', { name: 'Start the group' }).click();
  await page.locator('[data-testid=fanout-status][data-ready=true]').waitFor({ timeout: 60_000 });
  assert.match(await page.getByTestId('fanout-status').innerText(), /reads a message 2 to 6 s after it arrives/);
  // Record, in the page, when the grid first showed a delivered and a read member.
  await page.evaluate(() => {
    const grid = document.querySelector('[data-testid=member-grid]');
    window.firstSeen = {};
    new MutationObserver(() => {
      const now = performance.now();
      if (Number(grid.dataset.delivered) > 0) window.firstSeen.delivered ??= now;
      if (Number(grid.dataset.read) > 0) window.firstSeen.read ??= now;
    }).observe(grid, { attributes: true });
  });
  await page.getByRole('button', { name: 'Send to the group' }).click();
  const grid = page.getByTestId('member-grid');
  await grid.and(page.locator('[data-read="5"]')).waitFor({ timeout: 30_000 });
  const seen = await page.evaluate(() => window.firstSeen);
  assert.ok(seen.delivered !== undefined && seen.read !== undefined, JSON.stringify(seen));
  assert.ok(seen.read - seen.delivered >= 1500, `delivered ✓✓ showed for ${Math.round(seen.read - seen.delivered)} ms before the first read`);
  // The run replays from its recorded member steps: five deliveries and five reads. The
  // first step shows one member reached; the grid and its counts follow the slider.
  const replay = page.locator('.replay[data-place=fanout]');
  await replay.getByRole('slider', { name: 'Recorded event' }).focus();
  await page.keyboard.press('Home');
  await replay.getByTestId('replay-line')
    .getByText(/^Replaying step 1 of 10, \+0\.0 ms after the first: member \d+ delivered ✓✓\./).waitFor();
  await grid.and(page.locator('[data-delivered="1"][data-read="0"]')).waitFor();
  await page.keyboard.press('End');
  await grid.and(page.locator('[data-delivered="5"][data-read="5"]')).waitFor();
  await replay.getByRole('button', { name: 'Back to live' }).click();
  // Acknowledged, the grid and the sentence under it are one count.
  await page.getByTestId('fanout-acked').filter({ hasText: '5/5' }).waitFor();
  await page.getByTestId('grid-summary').filter({ hasText: 'the sender and 5 recipients whose phones acknowledged it' }).waitFor();
  assert.match(await page.locator('.fanout-lag').innerText(), /each step can only trail the one before it/);
  const legend = await page.locator('.grid-legend').innerText();
  assert.match(legend, /delivered ✓✓, not read yet: solid grey/);
  assert.match(legend, /read ✓✓ \+ read: blue with a white tick/);
  assert.deepEqual(page.consoleErrors, []);
  await page.close();
});
