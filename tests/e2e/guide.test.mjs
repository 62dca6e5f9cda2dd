// The guided path, walked as a student would: the connection section by keyboard alone,
// then every step on the real system (an offline queue, a retry storm, one message
// stepped hop by hop, a replay, a group fan-out, an expired presence, a stolen key, a
// load run, the quiz). The path moves on only when the page sees the step happen.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { labReady, launchBrowser, openPage } from './support.mjs';

let browser;
before(async () => { browser = await launchBrowser(); });
after(async () => { await browser?.close(); });

test('a student walks the guided path from DISCONNECTED to the quiz', async () => {
  const page = await openPage(browser);
  await labReady(page);
  const guide = page.getByTestId('guide');
  const progress = page.getByTestId('guide-progress');
  const narration = page.getByTestId('guide-narration');
  const at = (n, title) => progress.filter({ hasText: `Step ${n} of 11: ${title}` }).waitFor({ timeout: 20_000 });

  // 1–2, keyboard only: start the path, connect, drop the network, come back.
  await guide.getByRole('button', { name: 'Start the guided path' }).focus();
  await page.keyboard.press('Enter');
  await at(1, 'Open a WebSocket');
  assert.match(await narration.innerText(), /starts DISCONNECTED\. Press Connect/);
  const connect = page.getByRole('button', { name: 'Connect', exact: true });
  await connect.focus();
  await page.keyboard.press('Enter');
  await at(2, 'Lose it and watch the backoff');
  await page.getByRole('button', { name: 'Drop network' }).focus();
  await page.keyboard.press('Enter');
  await at(3, 'Queue messages for an offline phone');

  // 3: the offline queue, predicted first.
  const lab = page.locator('#offline-queue');
  await lab.getByRole('button', { name: 'Take Bob offline' }).click();
  await lab.getByRole('button', { name: 'Simulate messages' }).click();
  await page.locator('[data-testid=queue-count][data-waiting="5"]').waitFor({ timeout: 10_000 });
  await page.getByTestId('prediction-offline-order').getByLabel('In the order Alice sent them', { exact: true }).check();
  await lab.getByRole('button', { name: 'Bring Bob online' }).click();
  await at(4, 'Resend one message 20 times');

  // 4: the retry storm.
  await page.getByTestId('prediction-retry-rows').getByLabel('1 row', { exact: true }).check();
  await page.getByRole('button', { name: 'Start a retry storm' }).click();
  await at(5, 'Walk one message through the pipeline');

  // 5: one message, one hop at a time, to DELIVERED.
  const journey = page.locator('.journey');
  const paceLine = journey.getByTestId('pace-line');
  await journey.getByRole('radio', { name: 'One hop at a time' }).check();
  await paceLine.getByText(/^One hop at a time: send a message/).waitFor();
  await journey.getByRole('button', { name: 'Alice sends a message' }).click();
  const next = journey.getByRole('button', { name: 'Next hop' });
  // Oldest hop first: Bob's phone may still owe receipts for the storm's message, and
  // those wait their turn too. Press until the path sees a DELIVERED stepped through.
  const sixth = progress.getByText('Step 6 of 11');
  for (let i = 0; i < 16 && !(await sixth.count()); i++) {
    await paceLine.getByText(/\d+ waiting/).or(sixth).first().waitFor({ timeout: 10_000 });
    if (await sixth.count()) break;
    await next.click();
  }
  await at(6, 'Replay the run');
  await journey.getByRole('radio', { name: 'Live' }).check();
  await page.getByTestId('journey-message').locator('[data-tick=delivered], [data-tick=read]').waitFor({ timeout: 10_000 });

  // 6: a replay of that run.
  await journey.getByRole('button', { name: '◀ Earlier event' }).click();
  await journey.getByTestId('replay-line').getByText(/^Replaying event/).waitFor();
  await at(7, 'Fan one message out to a group');

  // 7: a small group, every member reached.
  const fanout = page.locator('.fanout-lab');
  await fanout.getByLabel('Group size', { exact: true }).fill('8');
  await fanout.getByLabel('Group size', { exact: true }).press('Tab');
  await fanout.getByRole('button', { name: 'Start the group' }).click();
  await page.locator('[data-testid=fanout-status][data-ready=true]').waitFor({ timeout: 60_000 });
  await fanout.getByRole('button', { name: 'Send to the group' }).click();
  await at(8, 'Let a phone go silent');

  // 8: presence expires with Bob's heartbeats paused, and comes back.
  await page.getByRole('button', { name: "Pause Bob's heartbeats" }).click();
  await at(9, 'Steal a session key');
  await page.getByRole('button', { name: "Resume Bob's heartbeats" }).click();

  // 9: forward secrecy.
  await page.getByLabel('Message', { exact: true }).fill('meet at the north gate');
  await page.getByRole('button', { name: 'Encrypt and send as Alice →' }).click();
  const row = page.getByTestId('cipher-rows').locator('.cipher-row').first();
  await row.getByTestId('bob-view').getByTestId('decrypted').waitFor({ timeout: 20_000 });
  await page.getByTestId('prediction-forward-secrecy').getByLabel("No: that message's key no longer exists", { exact: true }).check();
  await page.getByRole('button', { name: "Steal Bob's session and decrypt the captured message" }).click();
  await at(10, 'Load the server');

  // 10: a one-second load run.
  const panel = page.locator('.load-panel');
  await panel.getByLabel('Pairs (1–50)').fill('1');
  await panel.getByLabel('Seconds (1–20)').fill('1');
  await panel.getByLabel('Seconds (1–20)').press('Tab');
  await panel.getByRole('button', { name: 'Start the load run' }).click();
  await at(11, 'Check yourself');

  // 11: the quiz, to the score.
  for (let q = 1; q <= 5; q++) {
    await page.locator('#quiz input[type=radio]').first().check();
    await page.locator('#quiz button.quiz-primary', { hasText: 'Check answer' }).click();
    await page.locator('#quiz button.quiz-primary', { hasText: q === 5 ? 'See my score' : 'Next question' }).click();
  }
  await guide.getByText('You walked the whole path.').waitFor({ timeout: 10_000 });

  // Leaving and coming back: the path remembers, and a reload keeps it.
  await guide.getByRole('button', { name: 'Start the guided path' }).waitFor();
  assert.deepEqual(page.consoleErrors, []);
  await page.close();
});

test('a student can skip a step, leave the path and come back to the same step', async () => {
  const page = await openPage(browser);
  await labReady(page);
  const guide = page.getByTestId('guide');
  await guide.getByRole('button', { name: 'Start the guided path' }).click();
  await guide.getByRole('button', { name: 'Skip this step' }).click();
  await page.getByTestId('guide-progress').getByText('Step 2 of 11').waitFor();
  await guide.getByRole('button', { name: 'Leave the guide' }).click();
  await guide.getByRole('button', { name: 'Continue the guided path' }).waitFor();
  await page.reload();
  await labReady(page);
  await guide.getByRole('button', { name: 'Continue the guided path' }).click();
  await page.getByTestId('guide-progress').getByText('Step 2 of 11: Lose it and watch the backoff').waitFor();
  assert.deepEqual(page.consoleErrors, []);
  await page.close();
});
