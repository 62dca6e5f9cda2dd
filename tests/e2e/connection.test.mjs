// The connection lab in a real browser: the served page opens a WebSocket to the server
// when the student presses Connect, completes the hello/welcome handshake, and draws
// each transition on the state machine and each reconnect attempt on the backoff
// timeline. Also: where keyboard focus goes, and the wire inspector's docking.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { labReady, launchBrowser, openPage } from './support.mjs';

let browser;
before(async () => { browser = await launchBrowser(); });
after(async () => { await browser?.close(); });

const status = (page) => page.getByTestId('connection-status');
const inState = (page, state) => status(page).and(page.locator(`[data-state=${state}]`));
const lastArrow = (page, arrow) => page.locator(`.machine [data-arrow=${arrow}][data-last=true]`);
const currentState = (page) => page.locator('.machine .state[data-current=true]').getAttribute('data-state');

// Presses Connect from the keyboard and waits for the handshake.
async function connect(page) {
  await page.getByRole('button', { name: 'Connect', exact: true }).focus();
  await page.keyboard.press('Enter');
  await inState(page, 'CONNECTED').waitFor({ timeout: 15_000 });
}

test('the lab starts DISCONNECTED; Connect draws connect then welcome, and focus moves to Disconnect', async () => {
  const page = await openPage(browser);
  // Alice and Bob are connected (the other labs are live), and "You" still is not.
  await labReady(page);
  await inState(page, 'DISCONNECTED').waitFor();
  assert.equal(await currentState(page), 'DISCONNECTED');
  assert.match(await page.getByTestId('last-transition').innerText(), /last: none yet/);
  assert.equal(await page.locator('.machine [data-last=true]').count(), 0);
  assert.match(await page.getByTestId('backoff-timeline').innerText(), /No reconnect attempts yet/);

  await connect(page);
  await lastArrow(page, 'welcome').waitFor();
  assert.equal(await currentState(page), 'CONNECTED');
  assert.match(await page.getByTestId('last-transition').innerText(), /last: CONNECTING → CONNECTED \(welcome\)/);
  assert.equal(await page.locator('.machine [data-last=true]').count(), 1, 'one arrow is the last');
  // The pressed button is disabled now; focus went to the one that undoes it, not <body>.
  await page.locator('#connection-disconnect:focus').waitFor();

  const log = page.getByRole('list', { name: 'Connection event log' });
  assert.match(await log.innerText(), /WebSocket client initialized, state=DISCONNECTED/);
  assert.match(await log.locator('li').first().innerText(), /CONNECTING → CONNECTED: handshake complete/, 'newest first');
  assert.equal(await log.getAttribute('tabindex'), '0');
  assert.deepEqual(page.consoleErrors, []);
  await page.close();
});

test('disconnect and connect again from the keyboard, focus following', async () => {
  const page = await openPage(browser);
  await connect(page);
  await page.getByRole('button', { name: 'Disconnect', exact: true }).focus();
  await page.keyboard.press('Enter');
  await inState(page, 'DISCONNECTED').waitFor();
  await lastArrow(page, 'leave').waitFor();
  await page.locator('#connection-connect:focus').waitFor();
  await page.keyboard.press('Enter');
  await inState(page, 'CONNECTED').waitFor();
  await page.locator('#connection-disconnect:focus').waitFor();
  assert.deepEqual(page.consoleErrors, []);
  await page.close();
});

// The attempts listed under the timeline: "#n · waited D s from t = T s (jitter window A s–B s) · outcome".
async function attempts(page) {
  const lines = await page.getByRole('list', { name: 'Reconnect attempts' }).locator('li').allInnerTexts();
  return lines.map((line) => {
    const [, n, delay, low, high, outcome] =
      line.match(/^#(\d+) · waited ([\d.]+) s from t = [\d.]+ s \(jitter window ([\d.]+) s–([\d.]+) s\) · (\w+)$/);
    return { n: Number(n), delay: Number(delay), low: Number(low), high: Number(high), outcome };
  });
}

test('a dropped network and an outage: the arrows taken, attempts on the timeline, and no stale refusal', async () => {
  const page = await openPage(browser);
  await connect(page);

  // Drop network: the server cuts the TCP connection with no close frame.
  await page.getByRole('button', { name: 'Drop network' }).click();
  await inState(page, 'RECONNECTING').waitFor();
  await page.getByTestId('retry-line').filter({ hasText: /Reconnect attempt 1/ }).waitFor();
  await inState(page, 'CONNECTED').waitFor({ timeout: 15_000 });
  await lastArrow(page, 'resumed').waitFor();
  const log = await page.getByRole('list', { name: 'Connection event log' }).innerText();
  assert.match(log, /CONNECTED → RECONNECTING: socket dropped \(code 1006\)/);
  const timeline = page.getByTestId('backoff-timeline');
  await timeline.locator('li[data-outcome=connected]').waitFor();

  // An outage: every attempt fails until it ends; the timeline grows one row per attempt.
  await page.getByLabel('Server unreachable for').fill('4');
  await page.getByLabel('Server unreachable for').press('Tab');
  await page.getByRole('button', { name: 'Start outage' }).click();
  const fault = page.getByTestId('fault-line');
  await fault.filter({ hasText: /refuses this device for 4 s.*Server unreachable for this device: \d/ }).waitFor();
  await timeline.and(page.locator('[data-attempts="2"]')).waitFor({ timeout: 15_000 });
  await lastArrow(page, 'retry').waitFor();
  await page.getByTestId('retry-line').filter({ hasText: /Reconnect attempt [2-9] in \d/ }).waitFor({ timeout: 15_000 });
  await timeline.locator('li[data-outcome=failed]').nth(1).waitFor({ timeout: 15_000 });
  assert.ok(await timeline.locator('svg.timeline .tl-failed').count() >= 2, 'failed attempts drawn');
  await inState(page, 'CONNECTED').waitFor({ timeout: 30_000 });

  const rows = await attempts(page);
  assert.ok(rows.length >= 3, JSON.stringify(rows));
  rows.forEach((row, i) => {
    assert.equal(row.n, i + 1);
    assert.ok(row.low <= row.delay && row.delay <= row.high, `attempt ${row.n} inside its window`);
    if (i > 0) {
      assert.ok(row.high === 2 * rows[i - 1].high, 'each window doubles');
      assert.ok(row.delay >= rows[i - 1].delay, 'each wait is at least as long as the last');
    }
  });
  assert.deepEqual(rows.slice(0, -1).map((r) => r.outcome), rows.slice(0, -1).map(() => 'failed'));
  assert.equal(rows.at(-1).outcome, 'connected');

  // Recovered: the refusal is gone from the screen.
  await fault.filter({ hasText: 'The outage is over' }).waitFor();
  assert.doesNotMatch(await fault.innerText(), /refuses/);
  assert.deepEqual(page.consoleErrors, []);
  await page.close();
});

for (const width of [1280, 375]) {
  test(`at ${width} px the wire inspector covers nothing, and Escape closes it and returns focus`, async () => {
    const page = await openPage(browser, { width, height: 800 });
    const toggle = page.getByRole('button', { name: 'Wire inspector' });
    const inspector = page.locator('#wire-inspector');
    await toggle.click();
    await page.locator('#inspector-title:focus').waitFor();
    assert.equal(await toggle.getAttribute('aria-expanded'), 'true');

    // Measured at one instant, in page coordinates (focus may be scrolling the page).
    const rects = await page.evaluate(() => Object.fromEntries(
      [['box', '#wire-inspector'], ['main', 'main'], ['nav', 'nav.section-nav'],
       ['close', '#wire-inspector .inspector-close'], ['frames', '[data-testid=wire-frames]']]
        .map(([name, selector]) => {
          const r = document.querySelector(selector).getBoundingClientRect();
          return [name, { left: r.left, right: r.right, top: r.top + scrollY, bottom: r.bottom + scrollY }];
        }),
    ));
    if (width >= 1024) {
      assert.ok(rects.main.right <= rects.box.left && rects.nav.right <= rects.box.left, 'the lesson makes room');
    } else {
      assert.equal(await inspector.evaluate((e) => getComputedStyle(e).position), 'static', 'in the flow');
      assert.ok(rects.box.top >= rects.main.bottom, 'after the lesson, not over it');
    }
    // Close is in the panel's header, above the frames, not over them.
    assert.ok(rects.close.bottom <= rects.frames.top, `Close sits above the rows: ${JSON.stringify(rects)}`);

    await page.keyboard.press('Escape');
    await inspector.and(page.locator('[hidden]')).waitFor({ state: 'attached' });
    await page.locator('#inspector-toggle:focus').waitFor();
    assert.equal(await toggle.getAttribute('aria-expanded'), 'false');
    assert.deepEqual(page.consoleErrors, []);
    await page.close();
  });
}

test('the section nav is one line at 1280 px and the diagram animates nothing under reduced motion', async () => {
  const page = await openPage(browser, { width: 1280, height: 800 });
  const nav = await page.locator('nav.section-nav').boundingBox();
  assert.ok(nav.height <= 56, `nav is ${nav.height} px tall`);
  await page.emulateMedia({ reducedMotion: 'reduce' });
  const duration = await page.locator('.machine .arrow-line').first()
    .evaluate((e) => parseFloat(getComputedStyle(e).transitionDuration));
  assert.ok(duration <= 0.001, `transition ${duration}s`);
  await page.close();
});
