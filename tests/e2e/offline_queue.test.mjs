// The offline queue, the retry storm, and the tick pipeline, driven by a student in a
// real browser against the real server: every assertion reads what the page shows.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { labReady, launchBrowser, openPage } from './support.mjs';

let browser;
before(async () => { browser = await launchBrowser(); });
after(async () => { await browser?.close(); });

test('messages queue on the server while Bob is offline and flush in order when he returns', async () => {
  const page = await openPage(browser);
  await labReady(page);
  const queue = page.getByTestId('server-queue');
  await queue.getByText('queue is empty — take Bob offline, then simulate messages').waitFor();

  await page.getByRole('button', { name: 'Take Bob offline' }).first().click();
  await page.getByLabel('Messages', { exact: true }).fill('6');
  await page.getByLabel('Messages', { exact: true }).press('Tab');
  await page.getByRole('button', { name: 'Simulate messages' }).click();

  // The queue view is read from the server's database: six, in order, with wake-ups.
  await page.locator('[data-testid=queue-count][data-waiting="6"]').waitFor({ timeout: 10_000 });
  const entries = await queue.locator('.queue-what').allInnerTexts();
  assert.deepEqual(entries, [1, 2, 3, 4, 5, 6].map((n) => `Alice: “message ${n}”`));
  await queue.getByText('Push wake-ups sent: 6').waitFor();

  // Bringing Bob back waits for a prediction of the order (predictions.test.mjs checks the reveal).
  await page.getByTestId('prediction-offline-order').getByLabel('In the order Alice sent them').check();
  await page.getByRole('button', { name: 'Bring Bob online' }).first().click();
  await page.locator('[data-testid=bob-flush][data-drained=true]').waitFor({ timeout: 20_000 });
  const received = await page.getByTestId('bob-received').locator('.bubble-text').allInnerTexts();
  assert.deepEqual(received, [1, 2, 3, 4, 5, 6].map((n) => `message ${n}`));
  await page.locator('[data-testid=queue-count][data-waiting="0"]').waitFor({ timeout: 10_000 });
  await page.getByTestId('bob-flush').getByText(/queue drained/).waitFor();

  // The flush, replayed from its recorded events: the inbox fills to six while Bob is
  // away, then empties oldest first: at every instant the delivered ones are the oldest.
  const replay = page.locator('.flush-replay');
  const spots = () => replay.getByTestId('flush-rows').locator('li').evaluateAll((items) => items.map((li) => li.dataset.spot));
  await replay.getByTestId('replay-line').getByText(/^Live\. \d+ events recorded for the messages that waited/).waitFor();
  assert.deepEqual(await spots(), Array(6).fill('delivered'));
  await replay.getByRole('slider', { name: 'Recorded event' }).focus();
  await page.keyboard.press('Home');
  await replay.getByTestId('replay-line').getByText(/^Replaying event 1 of \d+/).waitFor();
  const events = Number((await replay.getByTestId('replay-line').innerText()).match(/event 1 of (\d+)/)[1]);
  let most = 0;
  for (let k = 1; k <= events; k++) {
    const now = await spots();
    const waiting = now.filter((s) => s === 'in-inbox').length;
    most = Math.max(most, waiting);
    const delivered = now.map((s) => s === 'delivered');
    assert.deepEqual(delivered, [...delivered].sort((a, b) => b - a), `event ${k}: oldest delivered first: ${now}`);
    const pushed = now.filter((s) => s === 'pushed').length;
    assert.equal(await replay.getByTestId('flush-waiting').innerText(),
      `At this instant: ${waiting} still in Bob's inbox, ${pushed} pushed and not yet acknowledged.`);
    if (k < events) {
      await page.keyboard.press('ArrowRight');
      await replay.getByTestId('replay-line').getByText(new RegExp(`^Replaying event ${k + 1} of`)).waitFor();
    }
  }
  assert.equal(most, 6, 'at one instant all six waited in the inbox');
  await replay.getByRole('button', { name: 'Back to live' }).click();
  await replay.getByTestId('replay-line').getByText(/^Live\./).waitFor();
  assert.deepEqual(page.consoleErrors, []);
  await page.close();
});

test('a retry storm of 21 sends produces one stored row and one delivery', async () => {
  const page = await openPage(browser);
  await labReady(page);
  await page.getByTestId('prediction-retry-rows').getByLabel('1 row', { exact: true }).check();
  await page.getByRole('button', { name: 'Start a retry storm' }).click();
  const figure = (id) => page.getByTestId(id);
  // One send and 20 resends of the same id.
  await figure('storm-acks').filter({ hasText: /^21$/ }).waitFor({ timeout: 10_000 });
  assert.equal(await figure('storm-sends').innerText(), '21');
  await figure('storm-rows').filter({ hasText: /^1$/ }).waitFor({ timeout: 10_000 });
  await figure('storm-deliveries').filter({ hasText: /^1$/ }).waitFor();
  await figure('storm-bob').filter({ hasText: /^1$/ }).waitFor({ timeout: 10_000 });
  assert.deepEqual(page.consoleErrors, []);
  await page.close();
});

test('ticks go from sent to delivered to blue read, with every hop lit from server traces', async () => {
  const page = await openPage(browser);
  await labReady(page);
  const journey = page.locator('.journey');
  await journey.getByRole('button', { name: 'Alice sends a message' }).click();
  const message = page.getByTestId('journey-message');
  await message.locator('[data-tick=delivered]').waitFor({ timeout: 10_000 });
  const hops = page.getByTestId('journey-hops').locator('li');
  // Eight stops to the recipient's device, then the read receipt, which waits for Bob.
  assert.deepEqual(await hops.evaluateAll((items) => items.map((li) => li.dataset.state)),
    ['done', 'done', 'done', 'done', 'done', 'done', 'done', 'done', 'waiting']);
  assert.match(await hops.nth(2).innerText(), /committed once/);

  await journey.getByRole('button', { name: 'Bob opens the chat' }).click();
  await message.locator('.tick-blue[data-tick=read]').waitFor({ timeout: 10_000 });
  assert.match(await message.innerText(), /✓✓\s*read/);
  await hops.nth(8).and(page.locator('[data-state=done]')).waitFor();
  assert.deepEqual(page.consoleErrors, []);
  await page.close();
});

test('with a compressed expiry, a message for an offline Bob fails with a warning', async () => {
  const page = await openPage(browser);
  await labReady(page);
  const journey = page.locator('.journey');
  await journey.getByRole('button', { name: 'Take Bob offline' }).click();
  await page.getByLabel('Undelivered messages fail after').fill('2');
  await page.getByLabel('Undelivered messages fail after').press('Tab');
  await journey.getByRole('button', { name: 'Compress expiry' }).click();
  await page.getByTestId('expiry-line').getByText(/fail after 2 s/).waitFor();

  await journey.getByRole('button', { name: 'Alice sends a message' }).click();
  const hops = page.getByTestId('journey-hops').locator('li');
  await hops.nth(5).and(page.locator('[data-state=held]')).waitFor({ timeout: 10_000 });
  const message = page.getByTestId('journey-message');
  await message.locator('[data-tick=failed]').waitFor({ timeout: 15_000 });
  await hops.nth(7).and(page.locator('[data-state=failed]')).waitFor();
  assert.match(await message.innerText(), /⚠\s*failed/);
  assert.deepEqual(page.consoleErrors, []);
  await page.close();
});
