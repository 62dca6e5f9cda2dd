// The tick lab's pace, as a student uses it: one hop at a time with the keyboard, each
// press of "Next hop" letting the real server take one step (SENT, the look-up, the push,
// DELIVERED, READ), while a second student's lab runs live beside it; then a replay of
// the finished run, redrawn from its recorded events.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { labReady, launchBrowser, openPage } from './support.mjs';

let browser;
before(async () => { browser = await launchBrowser(); });
after(async () => { await browser?.close(); });

test('step mode moves one message hop by hop and never slows another lab', async () => {
  // Two pages are two browser contexts: two students, two labs.
  const stepping = await openPage(browser);
  const live = await openPage(browser);
  await Promise.all([labReady(stepping), labReady(live)]);

  const journey = stepping.locator('.journey');
  const paceLine = journey.getByTestId('pace-line');
  const message = stepping.getByTestId('journey-message');
  // Keyboard only: focus the pace radios; from the first, ArrowUp wraps to the last,
  // "One hop at a time".
  await journey.getByRole('radio', { name: 'Live' }).focus();
  await stepping.keyboard.press('ArrowUp');
  await paceLine.getByText(/^One hop at a time: send a message/).waitFor();

  await journey.getByRole('button', { name: 'Alice sends a message' }).focus();
  await stepping.keyboard.press('Enter');
  await paceLine.getByText(/1 waiting\. Next: the commit is answered SENT/).waitFor();
  await journey.locator('.journey-hop[data-state=paced]', { hasText: 'Chat server' }).waitFor();
  assert.equal(await message.locator('[data-tick]').getAttribute('data-tick'), 'sending', 'no SENT yet');

  // The other lab, live: its message reaches blue ticks while this one waits.
  const other = live.locator('.journey');
  await other.getByRole('button', { name: 'Alice sends a message' }).click();
  await live.getByTestId('journey-message').locator('[data-tick=delivered]').waitFor({ timeout: 10_000 });
  await other.getByRole('button', { name: 'Bob opens the chat' }).click();
  await live.getByTestId('journey-message').locator('[data-tick=read]').waitFor({ timeout: 10_000 });
  assert.match(await paceLine.innerText(), /1 waiting\. Next: the commit is answered SENT/, 'still held');

  const next = journey.getByRole('button', { name: 'Next hop' });
  await next.focus();
  const steps = [
    [/Next: the recipient look-up/, 'sent'],
    [/Next: the push to the device/, 'sent'],
  ];
  for (const [waiting, tick] of steps) {
    await stepping.keyboard.press('Enter');
    await paceLine.getByText(waiting).waitFor();
    await message.locator(`[data-tick=${tick}]`).waitFor();
  }
  // The push goes; Bob's phone acknowledges; the DELIVERED receipt waits its turn.
  await stepping.keyboard.press('Enter');
  await paceLine.getByText(/Next: the DELIVERED receipt goes back/).waitFor({ timeout: 10_000 });
  assert.equal(await message.locator('[data-tick]').getAttribute('data-tick'), 'sent');
  await stepping.keyboard.press('Enter');
  await message.locator('[data-tick=delivered]').waitFor();
  assert.equal(await stepping.evaluate(() => document.activeElement?.textContent), 'Next hop', 'focus stays');

  await journey.getByRole('button', { name: 'Bob opens the chat' }).click();
  await paceLine.getByText(/Next: the READ receipt goes back/).waitFor({ timeout: 10_000 });
  await next.click();
  await message.locator('.tick-blue[data-tick=read]').waitFor();
  // Nothing waits now, and pressing again says so instead of doing nothing.
  await next.click();
  await journey.getByTestId('pace-said').getByText(/No hop is waiting: send a message first/).waitFor();

  // Replay the finished run from its recorded events: back to the first, forward to the
  // last, one event earlier (the tick as it was), then live again.
  const replayLine = journey.getByTestId('replay-line');
  await replayLine.getByText(/^Live\. \d+ events recorded/).waitFor();
  await journey.getByRole('slider', { name: 'Recorded event' }).focus();
  await stepping.keyboard.press('Home');
  await replayLine.getByText(/Replaying event 1 of \d+, \+[\d.]+ ms: received/).waitFor();
  await message.locator('[data-tick=sending]').waitFor();
  assert.equal(await journey.locator('.journey-hop[data-state=done]').count(), 2, 'sender and WebSocket only');
  await stepping.keyboard.press('End');
  await replayLine.getByText(/: read \(READ\)/).waitFor();
  await journey.getByRole('button', { name: '◀ Earlier event' }).click();
  await message.locator('[data-tick=delivered]').waitFor();
  await journey.getByRole('button', { name: 'Back to live' }).click();
  await message.locator('.tick-blue[data-tick=read]').waitFor();

  await journey.getByRole('radio', { name: 'Live' }).check();
  await paceLine.getByText(/^Live:/).waitFor();
  assert.deepEqual(stepping.consoleErrors, []);
  assert.deepEqual(live.consoleErrors, []);
  await stepping.close();
  await live.close();
});
