// The fan-out lab with 1,024 real members, presence with paused heartbeats, and the wire
// inspector, in a real browser against the real server.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { labReady, launchBrowser, openPage } from './support.mjs';

let browser;
before(async () => { browser = await launchBrowser(); });
after(async () => { await browser?.close(); });

test('a 1,024-member fan-out reaches everyone, offline members fill in, and the 1,025th is refused', async () => {
  const page = await openPage(browser);
  await labReady(page);
  await page.getByLabel('Group size').fill('1024');
  await page.getByLabel('Offline at start').fill('50');
  await page.getByLabel('Offline at start').press('Tab');
  await page.getByRole('button', { name: 'Start the group' }).click();
  await page.locator('[data-testid=fanout-status][data-ready=true]').waitFor({ timeout: 120_000 });

  // Frame times while a thousand cells update: printed as a figure, never asserted.
  await page.evaluate(() => {
    window.frameTimes = [];
    let last = performance.now();
    const loop = (t) => { window.frameTimes.push(t - last); last = t; if (!window.stopFrames) requestAnimationFrame(loop); };
    requestAnimationFrame(loop);
  });
  await page.getByRole('button', { name: 'Send to the group' }).click();
  const grid = page.getByTestId('member-grid');
  // The offline members' copies wait in their inboxes, shown as held…
  await page.getByTestId('grid-summary').filter({ hasText: /[1-9]\d* held offline/ }).waitFor({ timeout: 60_000 });
  // …and fill in when they come back: every recipient delivered.
  await grid.and(page.locator('[data-delivered="1023"]')).waitFor({ timeout: 120_000 });
  const frames = await page.evaluate(() => { window.stopFrames = true; return window.frameTimes.slice(1); });
  frames.sort((a, b) => a - b);
  const pick = (p) => frames[Math.min(frames.length - 1, Math.floor(frames.length * p))].toFixed(1);
  console.log(`# fan-out 1,024: ${frames.length} frames, frame time p50 ${pick(0.5)} ms, p95 ${pick(0.95)} ms, max ${pick(1)} ms`);

  await page.getByTestId('grid-summary').filter({ hasText: '1024 of 1024 members have the message' }).waitFor();
  await page.getByTestId('fanout-rows').filter({ hasText: /^1$/ }).waitFor({ timeout: 20_000 });
  assert.equal(await page.getByTestId('fanout-records').innerText(), '1023');
  await page.getByTestId('fanout-delivered').filter({ hasText: '1023/1023' }).waitFor({ timeout: 20_000 });

  await page.getByRole('button', { name: 'Add one more member' }).click();
  const refusal = page.getByTestId('fanout-refusal');
  await refusal.waitFor();
  assert.match(await refusal.innerText(), /refused.*cap of 1024/);
  assert.deepEqual(page.consoleErrors.filter((e) => !/409 \(Conflict\)/.test(e)), []);
  await page.close();
});

test("paused heartbeats let Bob's presence expire; resuming brings him back", async () => {
  const page = await openPage(browser);
  await labReady(page);
  const bob = page.locator('#presence [data-name=Bob]');
  await bob.and(page.locator('[data-online=true]')).waitFor({ timeout: 15_000 });
  await page.getByRole('button', { name: "Pause Bob's heartbeats" }).click();
  await page.getByTestId('ttl-line').filter({ hasText: /expires in \d/ }).waitFor();
  await bob.and(page.locator('[data-online=false]')).waitFor({ timeout: 30_000 });
  assert.match(await bob.innerText(), /offline · last seen \d\d:\d\d:\d\d/);
  await page.getByTestId('ttl-line').filter({ hasText: /Expired/ }).waitFor();
  await page.getByRole('button', { name: "Resume Bob's heartbeats" }).click();
  await bob.and(page.locator('[data-online=true]')).waitFor({ timeout: 30_000 });
  assert.deepEqual(page.consoleErrors, []);
  await page.close();
});

test('the wire inspector lists the frames of a send, its ack and its receipts', async () => {
  const page = await openPage(browser);
  await labReady(page);
  await page.getByRole('button', { name: 'Wire inspector' }).click();
  await page.locator('.journey').getByRole('button', { name: 'Alice sends a message' }).click();
  await page.getByTestId('journey-message').locator('[data-tick=delivered]').waitFor({ timeout: 10_000 });
  const frames = page.getByTestId('wire-frames');
  await frames.locator('[data-device=Alice][data-kind=send]').first().waitFor();
  await frames.locator('[data-device=Alice][data-kind=sent]').first().waitFor();
  await frames.locator('[data-device=Bob][data-kind=message]').first().waitFor();
  await frames.locator('[data-device=Bob][data-kind=ack]').first().waitFor();
  await frames.locator('[data-device=Alice][data-kind=receipt]').first().waitFor();
  // Filter by device.
  await page.getByLabel('Device').selectOption('Bob');
  assert.equal(await frames.locator('[data-device=Alice]').count(), 0);
  // Each frame opens to its decoded JSON.
  const ack = frames.locator('[data-device=Bob][data-kind=ack]').first();
  await ack.locator('summary').click();
  assert.match(await ack.locator('pre').innerText(), /"type": "ack"/);
  assert.deepEqual(page.consoleErrors, []);
  await page.close();
});
