// axe-core finds no violations after every lab has run, at desktop and phone widths:
// one page runs each lab in turn as a student would (the states a fresh page never
// has: a backoff timeline, a held queue, a paced hop, a FAILED tick, a lit member
// grid, an expired presence, ciphertexts, a load chart, a scored quiz) and checks the
// page after each. Each lab's reset runs too: it puts the lab back and hands focus to
// the lab's first control.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { axeViolations, labReady, launchBrowser, openPage } from './support.mjs';

let browser;
before(async () => { browser = await launchBrowser(); });
after(async () => { await browser?.close(); });

async function clean(page, what) {
  assert.deepEqual(await axeViolations(page), [], what);
}

// Presses a lab's reset and waits until it says it is done and focus is on `first`.
async function reset(page, lab, first) {
  const button = page.getByRole('button', { name: `↺ Reset ${lab}` });
  await button.click();
  await button.locator('xpath=..').getByTestId('reset-line').getByText(/^Reset: /).waitFor({ timeout: 15_000 });
  await page.waitForFunction((id) => document.activeElement?.id === id, first);
}

async function fill(page, label, value, scope = page) {
  const field = scope.getByLabel(label, { exact: true });
  await field.fill(String(value));
  await field.press('Tab');
}

async function connectionLab(page) {
  const lab = page.locator('#state-machine');
  const status = page.getByTestId('connection-status');
  await lab.getByRole('button', { name: 'Connect', exact: true }).click();
  await status.and(page.locator('[data-state=CONNECTED]')).waitFor({ timeout: 15_000 });
  await fill(page, 'Server unreachable for', 30, lab);
  await lab.getByRole('button', { name: 'Start outage' }).click();
  await page.getByTestId('backoff-timeline').locator('li[data-outcome=failed]').first().waitFor({ timeout: 15_000 });
  await clean(page, 'the state-machine lab, during an outage');
  // The reset ends the outage at once: Connect gets straight in, long before 30 s.
  await reset(page, 'the state-machine lab', 'connection-connect');
  await status.and(page.locator('[data-state=DISCONNECTED]')).waitFor();
  assert.equal(await page.getByTestId('backoff-timeline').locator('li').count(), 0, 'the timeline is cleared');
  await lab.getByRole('button', { name: 'Connect', exact: true }).click();
  await status.and(page.locator('[data-state=CONNECTED]')).waitFor({ timeout: 15_000 });
}

async function offlineQueue(page) {
  const lab = page.locator('#offline-queue');
  await lab.getByRole('button', { name: 'Take Bob offline' }).click();
  await fill(page, 'Messages', 3, lab);
  await lab.getByRole('button', { name: 'Simulate messages' }).click();
  await page.locator('[data-testid=queue-count][data-waiting="3"]').waitFor({ timeout: 10_000 });
  await clean(page, 'the offline queue, holding 3 for Bob');
  // The flush, one message per step.
  const pace = lab.locator('.pace');
  await pace.getByRole('radio', { name: 'One hop at a time' }).check();
  await pace.getByTestId('pace-line').getByText(/^One hop at a time/).waitFor();
  await page.getByTestId('prediction-offline-order').getByLabel('In the order Alice sent them', { exact: true }).check();
  await lab.getByRole('button', { name: 'Bring Bob online' }).click();
  await pace.getByTestId('pace-line').getByText(/Next: the push to the device/).waitFor({ timeout: 10_000 });
  await pace.getByRole('button', { name: 'Next hop' }).click();
  await pace.getByTestId('pace-said').getByText(/^Let go: the push to the device/).waitFor({ timeout: 10_000 });
  await clean(page, 'the offline queue, flushing one step at a time');
  // The reset runs the lab live again, so the rest flushes by itself.
  await reset(page, 'the offline queue', 'alice-draft');
  await page.locator('[data-testid=bob-flush][data-drained=true]').waitFor({ timeout: 20_000 });
  await pace.getByTestId('pace-line').getByText(/^Live:/).waitFor();
  await page.getByTestId('prediction-offline-order').and(page.locator('[data-state=held]')).waitFor({ timeout: 20_000 });

  await page.getByTestId('prediction-retry-rows').getByLabel('1 row', { exact: true }).check();
  await page.getByRole('button', { name: 'Start a retry storm' }).click();
  await page.getByTestId('prediction-retry-rows').and(page.locator('[data-state=held]')).waitFor({ timeout: 20_000 });
  await clean(page, 'the offline queue, flushed, and the retry storm revealed');
}

async function tickLab(page) {
  const journey = page.locator('.journey');
  const message = page.getByTestId('journey-message');
  await journey.getByRole('button', { name: 'Take Bob offline' }).click();
  await fill(page, 'Undelivered messages fail after', 2, journey);
  await journey.getByRole('button', { name: 'Compress expiry' }).click();
  await page.getByTestId('expiry-line').getByText(/fail after 2 s/).waitFor();
  await journey.getByRole('button', { name: 'Alice sends a message' }).click();
  await message.locator('[data-tick=failed]').waitFor({ timeout: 15_000 });
  await clean(page, 'the tick lab, a message FAILED');
  // The reset brings back the 30 days, the live pace and Bob, and follows no message.
  await reset(page, 'the tick lab', 'journey-send');
  await page.getByTestId('expiry-line').getByText(/30 days/).waitFor();
  await journey.getByText('Send a message to follow it through the pipeline.').waitFor();
  await journey.getByRole('radio', { name: 'One hop at a time' }).check();
  await journey.getByTestId('pace-line').getByText(/^One hop at a time/).waitFor();
  await journey.getByRole('button', { name: 'Alice sends a message' }).click();
  await journey.getByTestId('pace-line').getByText(/1 waiting/).waitFor({ timeout: 10_000 });
  await journey.locator('.journey-hop[data-state=paced]').first().waitFor();
  await clean(page, 'the tick lab, a hop held in step mode');
  await journey.getByRole('radio', { name: 'Live' }).check();
  await message.locator('[data-tick=delivered]').waitFor({ timeout: 10_000 });
  await journey.getByRole('button', { name: 'Bob opens the chat' }).click();
  await message.locator('.tick-blue[data-tick=read]').waitFor({ timeout: 10_000 });
  await journey.getByRole('slider', { name: 'Recorded event' }).focus();
  await page.keyboard.press('Home');
  await journey.getByTestId('replay-line').getByText(/^Replaying event 1 of/).waitFor();
  await clean(page, 'the tick lab, read, replaying');
}

async function fanOut(page) {
  const lab = page.locator('.fanout-lab');
  await fill(page, 'Group size', 24, lab);
  await fill(page, 'Offline at start', 3, lab);
  await lab.getByRole('button', { name: 'Start the group' }).click();
  await page.locator('[data-testid=fanout-status][data-ready=true]').waitFor({ timeout: 60_000 });
  await lab.getByRole('button', { name: 'Send to the group' }).click();
  await page.getByTestId('member-grid').and(page.locator('[data-delivered="20"]')).waitFor({ timeout: 30_000 });
  await clean(page, 'the fan-out lab, delivered with 3 members held offline');
  await reset(page, 'the fan-out lab', 'group-size');
  await page.getByTestId('fanout-status').getByText(/^No group yet/).waitFor();
  assert.equal(await lab.getByRole('button', { name: 'Send to the group' }).isDisabled(), true);
}

async function presence(page) {
  await page.getByRole('button', { name: "Pause Bob's heartbeats" }).click();
  await page.getByTestId('ttl-line').filter({ hasText: /Expired/ }).waitFor({ timeout: 30_000 });
  await page.locator('.presence-row[data-name=Bob][data-online=false]').waitFor({ timeout: 10_000 });
  await clean(page, 'presence, Bob expired');
  await reset(page, 'the presence lab', 'presence-pause');
  await page.locator('.presence-row[data-name=Bob][data-online=true]').waitFor({ timeout: 15_000 });
}

async function encryption(page) {
  await page.getByLabel('Message', { exact: true }).fill('meet at the north gate');
  await page.getByRole('button', { name: 'Encrypt and send as Alice →' }).click();
  const row = page.getByTestId('cipher-rows').locator('.cipher-row').first();
  await row.getByTestId('bob-view').getByTestId('decrypted').waitFor({ timeout: 20_000 });
  await row.getByTestId('server-body').waitFor({ state: 'attached', timeout: 20_000 });
  await page.getByTestId('prediction-forward-secrecy').getByLabel("No: that message's key no longer exists", { exact: true }).check();
  await page.getByRole('button', { name: "Steal Bob's session and decrypt the captured message" }).click();
  await page.getByTestId('secrecy-outcome').locator('[data-result]').waitFor({ timeout: 10_000 });
  await page.getByRole('button', { name: "Make Alice's group with You and Bob" }).click();
  await page.getByTestId('group-members').getByText('Members: Alice, You, Bob').waitFor({ timeout: 20_000 });
  await page.getByRole('button', { name: 'Encrypt once and send as Alice' }).click();
  await page.locator('.group-row').first().getByTestId('group-copies').waitFor({ timeout: 20_000 });
  await clean(page, 'encryption, after a 1:1 message, a stolen key and a group message');
  await reset(page, 'the encryption labs', 'cipher-draft');
  assert.equal(await page.getByTestId('cipher-rows').locator('.cipher-row').count(), 0);
}

async function loadPanel(page) {
  const panel = page.locator('.load-panel');
  await fill(page, 'Pairs (1–50)', 1, panel);
  await fill(page, 'Seconds (1–20)', 1, panel);
  await panel.getByRole('button', { name: 'Start the load run' }).click();
  await page.getByTestId('load-ledger').and(page.locator('[data-final=true]')).waitFor({ timeout: 60_000 });
  await clean(page, 'the load panel, after a run');
  await reset(page, 'the load panel', 'load-pairs');
  await page.getByTestId('load-status').getByText(/^No run yet/).waitFor();
}

async function quiz(page) {
  for (let q = 1; q <= 5; q++) {
    await page.locator('#quiz input[type=radio]').first().check();
    await page.locator('#quiz button.quiz-primary', { hasText: 'Check answer' }).click();
    await page.locator('#quiz button.quiz-primary', { hasText: q === 5 ? 'See my score' : 'Next question' }).click();
  }
  await page.getByTestId('quiz-score').waitFor();
  await clean(page, 'the quiz, scored');
}

for (const width of [1280, 375]) {
  test(`no axe-core violations at ${width} px after every lab has run, and each lab resets`, async () => {
    const page = await openPage(browser, { width, height: 900 });
    await labReady(page);
    await clean(page, 'a fresh page');
    await connectionLab(page);
    await offlineQueue(page);
    await tickLab(page);
    await fanOut(page);
    await presence(page);
    await encryption(page);
    await loadPanel(page);
    await quiz(page);
    await page.emulateMedia({ colorScheme: 'dark', reducedMotion: 'reduce' });
    await clean(page, 'every lab run, dark scheme');
    assert.deepEqual(page.consoleErrors, []);
    await page.close();
  });
}
