// Takes screenshots of a running lab for review: desktop and 375 px wide, light and dark.
//   node scripts/screenshots.mjs http://127.0.0.1:8080/ docs/screenshots
// With BLUETICK_INSTRUCTOR_TOKEN set (the token the server printed) it also takes /teach
// with two students at 1280 px and a tablet's 820 px, and the join banner at 375 px.
import { mkdir } from 'node:fs/promises';
import { chromium } from 'playwright-core';

const [url = 'http://127.0.0.1:8080/', outDir = 'docs/screenshots'] = process.argv.slice(2);
await mkdir(outDir, { recursive: true });
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking',
         '--disable-component-update', '--disable-sync', '--no-first-run'],
});
// What floats over whatever is scrolled under it (the sticky nav, the inspector's
// button, the guided path's bar), hidden for pictures of one section.
const HIDE = '.section-nav, .inspector-toggle, .guide { visibility: hidden; }';

// A page at `shot`'s size and colour scheme, loaded.
async function openShot(shot) {
  const page = await browser.newPage({
    viewport: { width: shot.width, height: shot.height },
    colorScheme: shot.colorScheme,
  });
  await page.goto(new URL(shot.path ?? '', url).href);
  return page;
}

// Until the lab is ready and Alice's and Bob's phones are connected.
async function labReady(page) {
  await page.locator('#offline-queue .phone-status[data-state=CONNECTED]').nth(1).waitFor({ timeout: 15_000 });
}

const shots = [
  { name: 'desktop-light', width: 1280, height: 900, colorScheme: 'light' },
  { name: 'desktop-dark', width: 1280, height: 900, colorScheme: 'dark' },
  { name: 'phone-light', width: 375, height: 812, colorScheme: 'light' },
];
for (const shot of shots) {
  const page = await openShot(shot);
  // The connection lab starts DISCONNECTED; connect it as a student would.
  await page.getByRole('button', { name: 'Connect', exact: true }).click();
  await page.locator('[data-testid=connection-status][data-state=CONNECTED]').waitFor({ timeout: 15_000 });
  const file = `${outDir}/${shot.name}.png`;
  await page.screenshot({ path: file, fullPage: true });
  console.log(file);
  await page.close();
}

// The guided path and the state-machine lab: fresh (DISCONNECTED, the path's first
// step), then during an outage with the backoff timeline growing.
for (const shot of [shots[0], shots[2]]) {
  const page = await openShot(shot);
  await labReady(page);
  const guideFile = `${outDir}/guide-${shot.name}.png`;
  await page.getByTestId('guide').screenshot({ path: guideFile });
  console.log(guideFile);
  const hide = await page.addStyleTag({ content: HIDE });
  const freshFile = `${outDir}/connection-fresh-${shot.name}.png`;
  await page.locator('#state-machine').screenshot({ path: freshFile });
  console.log(freshFile);
  await page.getByRole('button', { name: 'Connect', exact: true }).click();
  await page.locator('[data-testid=connection-status][data-state=CONNECTED]').waitFor({ timeout: 15_000 });
  await page.getByLabel('Server unreachable for').fill('20');
  await page.getByLabel('Server unreachable for').press('Tab');
  await page.getByRole('button', { name: 'Start outage' }).click();
  await page.getByTestId('backoff-timeline').locator('li[data-outcome=failed]').nth(2).waitFor({ timeout: 30_000 });
  const outageFile = `${outDir}/connection-outage-${shot.name}.png`;
  await page.locator('#state-machine').screenshot({ path: outageFile });
  console.log(outageFile);
  await page.getByRole('button', { name: '↺ Reset the state-machine lab' }).click();
  await page.locator('[data-testid=connection-status][data-state=DISCONNECTED]').waitFor();
  const resetFile = `${outDir}/connection-reset-${shot.name}.png`;
  await page.locator('#state-machine').screenshot({ path: resetFile });
  console.log(resetFile);
  await hide.evaluate((e) => e.remove());
  await page.close();
}

// Step mode in the offline queue and the fan-out: one message pushed from Bob's inbox
// per step, one batch of members per step; then the flush and the fan-out replayed.
for (const shot of [shots[0], shots[2]]) {
  const page = await openShot(shot);
  await labReady(page);
  const hide = await page.addStyleTag({ content: HIDE });
  const lab = page.locator('#offline-queue');
  await lab.getByRole('button', { name: 'Take Bob offline' }).click();
  await lab.getByRole('button', { name: 'Simulate messages' }).click();
  await page.locator('[data-testid=queue-count][data-waiting="5"]').waitFor({ timeout: 10_000 });
  const pace = lab.locator('.pace');
  await pace.getByRole('radio', { name: 'One hop at a time' }).check();
  await page.getByTestId('prediction-offline-order').getByLabel('In the order Alice sent them').check();
  await lab.getByRole('button', { name: 'Bring Bob online' }).click();
  for (let i = 0; i < 3; i++) {
    await pace.getByTestId('pace-line').getByText(/waiting/).waitFor({ timeout: 10_000 });
    await pace.getByRole('button', { name: 'Next hop' }).click();
    await pace.getByTestId('pace-said').getByText(/^Let go/).waitFor({ timeout: 10_000 });
  }
  // Two pushed and on Bob's phone, three still in his inbox.
  await page.getByTestId('bob-received').locator('.bubble-text').nth(1).waitFor({ timeout: 10_000 });
  const steppingFile = `${outDir}/offline-queue-stepping-${shot.name}.png`;
  await page.setViewportSize({ width: shot.width, height: 2400 });
  await lab.screenshot({ path: steppingFile });
  await page.setViewportSize({ width: shot.width, height: shot.height });
  console.log(steppingFile);
  await pace.getByRole('radio', { name: 'Live' }).check();
  await page.locator('[data-testid=bob-flush][data-drained=true]').waitFor({ timeout: 20_000 });
  const flush = lab.locator('.flush-replay');
  await flush.getByRole('slider', { name: 'Recorded event' }).focus();
  await page.keyboard.press('Home');
  for (let i = 0; i < 12; i++) await page.keyboard.press('ArrowRight');
  const replayFile = `${outDir}/offline-queue-replay-${shot.name}.png`;
  await flush.screenshot({ path: replayFile });
  console.log(replayFile);

  const fanout = page.locator('.fanout-lab');
  await fanout.getByLabel('Group size').fill('600');
  await fanout.getByLabel('Group size').press('Tab');
  await fanout.getByRole('button', { name: 'Start the group' }).click();
  await page.locator('[data-testid=fanout-status][data-ready=true]').waitFor({ timeout: 60_000 });
  const fanPace = fanout.locator('.pace');
  await fanPace.getByRole('radio', { name: 'One hop at a time' }).check();
  await fanout.getByRole('button', { name: 'Send to the group' }).click();
  // The commit, the look-up, then the first batch of 256 members.
  for (let i = 0; i < 3; i++) {
    await fanPace.getByTestId('pace-line').getByText(/waiting/).waitFor({ timeout: 10_000 });
    await fanPace.getByRole('button', { name: 'Next hop' }).click();
    await fanPace.getByTestId('pace-said').getByText(/^Let go/).waitFor({ timeout: 10_000 });
  }
  await fanPace.getByTestId('pace-line').getByText(/fan-out batch 2/).waitFor({ timeout: 10_000 });
  const batchFile = `${outDir}/fan-out-stepping-${shot.name}.png`;
  await fanout.screenshot({ path: batchFile });
  console.log(batchFile);
  await fanPace.getByRole('radio', { name: 'Live' }).check();
  await page.getByTestId('member-grid').and(page.locator('[data-delivered="599"]')).waitFor({ timeout: 30_000 });
  const fanReplay = fanout.locator('.replay');
  await fanReplay.getByRole('slider', { name: 'Recorded event' }).focus();
  await page.keyboard.press('Home');
  for (let i = 0; i < 4; i++) await page.keyboard.press('PageUp');
  const fanReplayFile = `${outDir}/fan-out-replay-${shot.name}.png`;
  await fanout.screenshot({ path: fanReplayFile });
  console.log(fanReplayFile);
  await hide.evaluate((e) => e.remove());
  await page.close();
}

// The live labs mid-run: Bob offline with a queue on the server, then a message read.
for (const shot of [shots[0], shots[2]]) {
  const page = await openShot(shot);
  await labReady(page);
  await page.getByRole('button', { name: 'Take Bob offline' }).first().click();
  await page.getByRole('button', { name: 'Simulate messages' }).click();
  await page.locator('[data-testid=queue-count][data-waiting="5"]').waitFor({ timeout: 10_000 });
  const hide = await page.addStyleTag({ content: HIDE });
  const queueFile = `${outDir}/offline-queue-${shot.name}.png`;
  await page.locator('#offline-queue').screenshot({ path: queueFile });
  console.log(queueFile);
  await page.getByTestId('prediction-offline-order').getByLabel('In the order Alice sent them').check();
  await page.getByRole('button', { name: 'Bring Bob online' }).first().click();
  await page.locator('[data-testid=bob-flush][data-drained=true]').waitFor({ timeout: 20_000 });
  await page.locator('[data-testid=prediction-offline-order][data-state=held]').waitFor({ timeout: 20_000 });
  const revealFile = `${outDir}/offline-queue-revealed-${shot.name}.png`;
  await page.locator('#offline-queue').screenshot({ path: revealFile });
  console.log(revealFile);
  await page.getByTestId('prediction-retry-rows').getByLabel('21 rows').check();
  await page.getByRole('button', { name: 'Start a retry storm' }).click();
  await page.locator('[data-testid=prediction-retry-rows][data-state=missed]').waitFor({ timeout: 20_000 });
  const stormFile = `${outDir}/retry-storm-${shot.name}.png`;
  await page.locator('#retry-storm').screenshot({ path: stormFile });
  console.log(stormFile);
  await page.getByRole('button', { name: 'Alice sends a message' }).click();
  await page.getByTestId('journey-message').locator('[data-tick=delivered]').waitFor({ timeout: 10_000 });
  await page.locator('.journey').getByRole('button', { name: 'Bob opens the chat' }).click();
  await page.getByTestId('journey-message').locator('[data-tick=read]').waitFor({ timeout: 10_000 });
  const ticksFile = `${outDir}/tick-pipeline-${shot.name}.png`;
  await page.locator('.journey').screenshot({ path: ticksFile });
  console.log(ticksFile);
  await page.getByLabel('Group size').fill('300');
  await page.getByLabel('Offline at start').fill('40');
  await page.getByLabel('Offline at start').press('Tab');
  await page.getByRole('button', { name: 'Start the group' }).click();
  await page.locator('[data-testid=fanout-status][data-ready=true]').waitFor({ timeout: 60_000 });
  await page.getByRole('button', { name: 'Send to the group' }).click();
  await page.getByTestId('grid-summary').filter({ hasText: /[1-9]\d* held offline/ }).waitFor({ timeout: 30_000 });
  // Some members have read, others only have it delivered: both kinds of cell show.
  await page.locator('[data-testid=member-grid]:not([data-read="0"])').waitFor({ timeout: 30_000 });
  const fanoutFile = `${outDir}/fan-out-${shot.name}.png`;
  await page.locator('.fanout-lab').screenshot({ path: fanoutFile });
  console.log(fanoutFile);
  await hide.evaluate((e) => e.remove());
  await page.getByRole('button', { name: "Pause Bob's heartbeats" }).click();
  await page.locator('#presence [data-name=Bob][data-online=false]').waitFor({ timeout: 30_000 });
  await page.getByRole('button', { name: 'Wire inspector' }).click();
  const inspectorFile = `${outDir}/presence-and-inspector-${shot.name}.png`;
  await page.locator('#presence').scrollIntoViewIfNeeded();
  await page.screenshot({ path: inspectorFile });
  console.log(inspectorFile);
  await page.close();
}

// The encryption section after a short conversation, the forward-secrecy experiment and a
// group message sent after Bob was removed.
for (const shot of [shots[0], shots[2]]) {
  const page = await openShot(shot);
  await labReady(page);
  const rows = page.getByTestId('cipher-rows').locator('.cipher-row');
  for (const [who, text] of [['Encrypt and send as Alice →', 'Meet at the station at 6'],
                             ['Encrypt and send as Alice →', 'Bring the tickets'],
                             ['← Reply as Bob', 'On my way']]) {
    const before = await rows.count();
    await page.getByLabel('Message', { exact: true }).fill(text);
    await page.getByRole('button', { name: who }).click();
    await rows.nth(before).getByTestId('decrypted').waitFor({ timeout: 20_000 });
  }
  await page.getByTestId('prediction-forward-secrecy').getByLabel("No: that message's key no longer exists").check();
  await page.getByRole('button', { name: "Steal Bob's session and decrypt the captured message" }).click();
  await page.getByTestId('secrecy-outcome').locator('[data-result]').waitFor({ timeout: 5_000 });
  // The sticky nav and the inspector's button would float over the sections' pictures.
  await page.addStyleTag({ content: HIDE });
  const convFile = `${outDir}/encryption-${shot.name}.png`;
  await page.locator('.cipher-lab').screenshot({ path: convFile });
  console.log(convFile);
  const secrecyFile = `${outDir}/forward-secrecy-${shot.name}.png`;
  await page.locator('.secrecy-demo').screenshot({ path: secrecyFile });
  console.log(secrecyFile);
  const group = page.locator('.group-e2e');
  await group.getByRole('button', { name: "Make Alice's group with You and Bob" }).click();
  await group.getByTestId('group-members').filter({ hasText: 'Bob' }).waitFor({ timeout: 10_000 });
  await group.getByRole('button', { name: 'Encrypt once and send as Alice' }).click();
  await group.locator('.group-row').nth(0).getByTestId('bob-shows').filter({ hasText: 'Megolm' }).waitFor({ timeout: 20_000 });
  await group.getByRole('button', { name: 'Remove Bob' }).click();
  await group.getByTestId('group-members').filter({ hasText: 'removed' }).waitFor({ timeout: 10_000 });
  await group.getByLabel('Group message', { exact: true }).fill('Surprise party for Bob');
  await group.getByRole('button', { name: 'Encrypt once and send as Alice' }).click();
  await group.locator('.group-row').nth(1).getByTestId('group-copies').waitFor({ timeout: 20_000 });
  // Parts of an element below the viewport come out blank; make room for all of it.
  await page.setViewportSize({ width: shot.width, height: 1600 });
  const groupFile = `${outDir}/group-encryption-${shot.name}.png`;
  await group.screenshot({ path: groupFile });
  console.log(groupFile);
  await page.close();
}

// The load panel after a run: ten pairs for five seconds against the 58K line.
for (const shot of [shots[0], shots[2]]) {
  const page = await openShot(shot);
  const panel = page.locator('.load-panel');
  await panel.waitFor({ timeout: 15_000 });
  await panel.getByLabel(/^Pairs/).fill('10');
  await panel.getByLabel(/^Seconds/).fill('5');
  await panel.getByLabel(/^Seconds/).press('Tab');
  await panel.getByRole('button', { name: 'Start the load run' }).click();
  await page.locator('[data-testid=load-ledger][data-final=true]').waitFor({ timeout: 60_000 });
  // The sticky nav and the inspector's button float over whatever is scrolled under
  // them; hide them so the panel's own controls show in its picture.
  await page.addStyleTag({ content: HIDE });
  const loadFile = `${outDir}/load-panel-${shot.name}.png`;
  await panel.screenshot({ path: loadFile });
  console.log(loadFile);
  // A request past the server's cap is said aloud.
  await panel.getByLabel(/^Pairs/).fill('500');
  await panel.getByLabel(/^Pairs/).press('Tab');
  await page.getByTestId('load-capped').filter({ hasText: 'capped' }).waitFor();
  const cappedFile = `${outDir}/load-panel-capped-${shot.name}.png`;
  await panel.locator('.load-controls').evaluate((e) => e.scrollIntoView());
  await page.screenshot({ path: cappedFile });
  console.log(cappedFile);
  await page.close();
}
// The instructor's page: a class with two students who joined and answered.
const token = process.env.BLUETICK_INSTRUCTOR_TOKEN;
if (token) {
  const teach = await openShot({ width: 1280, height: 1000, colorScheme: 'light', path: 'teach' });
  await teach.getByLabel('Instructor token').fill(token);
  await teach.getByRole('button', { name: 'Sign in' }).click();
  await teach.getByLabel('New class').fill('Systems design, period 3');
  await teach.getByRole('button', { name: 'Create the class' }).click();
  const code = (await teach.getByTestId('teach-code').innerText()).trim();
  const students = [];
  for (const [name, choice] of [['Ada', 0], ['Grace', 2]]) {
    const shot = { width: 375, height: 812, colorScheme: 'light', path: `?class=${code}` };
    const page = await openShot(shot);
    await labReady(page);
    if (name === 'Ada') {
      const file = `${outDir}/class-join-phone-light.png`;
      await page.screenshot({ path: file });
      console.log(file);
    }
    await page.getByLabel('Your display name').fill(name);
    await page.getByRole('button', { name: 'Join the class' }).click();
    await page.getByTestId('class-joined').waitFor();
    await page.locator('#quiz').scrollIntoViewIfNeeded();
    await page.locator('#quiz input[type=radio]').nth(choice).check();
    await page.locator('#quiz button.quiz-primary', { hasText: 'Check answer' }).click();
    students.push(page);
  }
  await teach.locator('[data-testid=teach-student][data-online=true]').nth(1).waitFor({ timeout: 10_000 });
  await teach.getByTestId('tally-q1').getByText(/of 2/).first().waitFor();
  for (const [name, width] of [['desktop-light', 1280], ['tablet-light', 820]]) {
    await teach.setViewportSize({ width, height: 1000 });
    const file = `${outDir}/teach-${name}.png`;
    await teach.screenshot({ path: file, fullPage: true });
    console.log(file);
  }
  // The projector: a run the instructor started, live on a student's phone, then
  // finished on the instructor's board.
  await teach.setViewportSize({ width: 1280, height: 1000 });
  const card = teach.getByTestId('teach-projector');
  for (const [label, value] of [[/^Pairs/, '4'], [/^Seconds/, '6']]) {
    await card.getByLabel(label).fill(value);
    await card.getByLabel(label).dispatchEvent('change');
  }
  await card.getByRole('button', { name: 'Show a load run to the class' }).click();
  const ada = students[0];
  const screen = ada.getByTestId('projector');
  await screen.locator('[data-testid=projector-status][data-state=running]').waitFor({ timeout: 30_000 });
  await ada.waitForFunction(() => /Running: [3-6] of/.test(document.querySelector('[data-testid=projector-status]')?.textContent ?? ''), null, { timeout: 30_000 });
  await ada.evaluate(() => window.scrollTo(0, 0));
  const phoneFile = `${outDir}/class-projector-phone-light.png`;
  await ada.screenshot({ path: phoneFile });
  console.log(phoneFile);
  await card.locator('[data-testid=teach-projector-ledger][data-final=true]').waitFor({ timeout: 60_000 });
  const cardFile = `${outDir}/teach-projector-desktop-light.png`;
  await card.screenshot({ path: cardFile });
  console.log(cardFile);
}
await browser.close();
