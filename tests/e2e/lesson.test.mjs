// The lesson's static parts in the served page: every section is there in order, the two
// tables have their rows, and a student can take the whole quiz with the keyboard alone,
// reload, and find their progress where they left it.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launchBrowser, openPage } from './support.mjs';

let browser;
before(async () => { browser = await launchBrowser(); });
after(async () => { await browser?.close(); });

const HEADINGS = [
  '58,000 messages per second',
  'Why WebSocket, not HTTP?',
  'WebSocket state machine',
  'From sender to blue ticks',
  'The fan-out problem',
  'Why each technology',
  'Check yourself',
];

test('every section heading is on the page, in lesson order', async () => {
  const page = await openPage(browser);
  for (const name of HEADINGS) {
    await page.getByRole('heading', { level: 2, name, exact: true }).waitFor();
  }
  const order = await page.locator('main h2').allInnerTexts();
  const positions = HEADINGS.map((h) => order.indexOf(h));
  assert.deepEqual([...positions].sort((a, b) => a - b), positions, `in order: ${order.join(' | ')}`);
  for (const id of ['scale', 'state-machine', 'tick-pipeline', 'fan-out', 'technologies', 'quiz']) {
    assert.equal(await page.locator(`nav a[href="#${id}"]`).count(), 1, `the nav links to #${id}`);
    assert.equal(await page.locator(`section#${id}`).count(), 1, `section #${id} exists`);
  }
  // Following a nav link marks that section visited, once.
  const visited = page.getByTestId('sections-visited');
  await page.locator('nav a[data-section=fan-out]').click();
  await page.locator('nav a[data-section=fan-out].visited').waitFor();
  const [, seen, of] = (await visited.innerText()).match(/^(\d+)\/(\d+) sections visited$/);
  assert.ok(Number(seen) >= 1 && Number(seen) <= Number(of), await visited.innerText());
  assert.deepEqual(page.consoleErrors, []);
  await page.close();
});

test('the tick table has four rows and the platform table three', async () => {
  const page = await openPage(browser);
  const ticks = page.getByRole('table', { name: 'The four ticks a message can show' });
  assert.equal(await ticks.locator('tbody tr').count(), 4);
  assert.deepEqual(await ticks.locator('tbody th').allInnerTexts(), ['SENT', 'DELIVERED', 'READ', 'FAILED']);
  // A tick is named in words, not only drawn in a colour.
  assert.match(await ticks.locator('tbody tr', { hasText: 'READ' }).innerText(), /two blue ticks/);
  const platforms = page.getByRole('table', { name: 'How three platforms handle groups' });
  assert.equal(await platforms.locator('tbody tr').count(), 3);
  assert.deepEqual(await platforms.locator('tbody th').allInnerTexts(), ['WhatsApp', 'Telegram', 'Signal']);
  await page.close();
});

const focusedText = (page) => page.evaluate(() => document.activeElement?.textContent?.trim() ?? '');

// Chooses the first option with Space and commits it with Enter, then moves on with
// Enter: keyboard only, from the first radio of the question showing.
async function answerWithKeyboard(page, { last = false } = {}) {
  const check = page.locator('#quiz button.quiz-primary');
  assert.equal(await check.innerText(), 'Check answer');
  assert.ok(await check.isDisabled(), 'Check answer waits for a choice');
  await page.keyboard.press('Space');
  await page.keyboard.press('Enter');
  const next = last ? 'See my score' : 'Next question';
  await page.locator('#quiz button.quiz-primary', { hasText: next }).waitFor();
  assert.equal(await page.locator('#quiz .option-feedback').count(), 4, 'every option explains itself');
  assert.match(await page.getByTestId('quiz-announcer').innerText(), /Correct|Not quite/);
  await page.waitForFunction((label) => document.activeElement?.textContent?.trim() === label, next);
  await page.keyboard.press('Enter');
}

test('a student takes the quiz with the keyboard, sees a score, and a reload keeps it', async () => {
  const page = await openPage(browser);
  await page.locator('#quiz input[type=radio]').first().focus();
  for (let q = 1; q <= 2; q++) {
    assert.match(await page.locator('#quiz legend').textContent(), new RegExp(`Question ${q} of 5`));
    await answerWithKeyboard(page);
    await page.waitForFunction(() => document.activeElement?.matches('#quiz input[type=radio]'));
  }

  await page.reload();
  await page.locator('#quiz legend', { hasText: 'Question 3 of 5' }).waitFor();
  assert.match(await page.getByTestId('quiz-progress').innerText(), /Quiz \d\/2 correct$/);
  await page.locator('#quiz input[type=radio]').first().focus();
  for (let q = 3; q <= 5; q++) {
    await answerWithKeyboard(page, { last: q === 5 });
    if (q < 5) await page.waitForFunction(() => document.activeElement?.matches('#quiz input[type=radio]'));
  }

  const score = page.getByTestId('quiz-score');
  await score.waitFor();
  const [, scored] = (await score.innerText()).match(/^You scored (\d) out of 5$/);
  assert.equal(await focusedText(page), await score.innerText(), 'focus lands on the score');
  assert.equal(await page.locator('#quiz .quiz-review li').count(), 5);
  assert.equal(await page.getByTestId('quiz-progress').innerText(), `Quiz score ${scored}/5`);

  await page.reload();
  await score.waitFor();
  assert.equal(await score.innerText(), `You scored ${scored} out of 5`);
  await page.getByRole('button', { name: 'Retry the quiz' }).focus();
  await page.keyboard.press('Enter');
  await page.locator('#quiz legend', { hasText: 'Question 1 of 5' }).waitFor();
  assert.equal(await page.getByTestId('quiz-progress').innerText(), 'Quiz not started');
  assert.deepEqual(page.consoleErrors, []);
  await page.close();
});

test('the header counts the live labs it names, and every one is on the page', async () => {
  const page = await openPage(browser);
  const tile = page.locator('.stat-tile', { hasText: 'live labs' });
  const figure = Number(await tile.locator('.stat-figure').innerText());
  // The sections holding a lab on the real server (lesson_header.rs's LIVE_LABS).
  const labs = ['scale', 'state-machine', 'offline-queue', 'tick-pipeline', 'fan-out', 'presence', 'encryption'];
  assert.equal(figure, labs.length);
  for (const id of labs) assert.equal(await page.locator(`section#${id}`).count(), 1, `section #${id}`);
  assert.equal(await page.getByText('live simulations').count(), 0);
  await page.close();
});

test('a wrong quiz answer links back to the lab that shows the right one', async () => {
  const page = await openPage(browser);
  const labs = ['state-machine', 'retry-storm', 'offline-queue', 'encryption', 'fan-out'];
  for (const [q, anchor] of labs.entries()) {
    const question = page.locator('#quiz .quiz-question');
    await question.and(page.locator(`[data-question="${q}"]`)).waitFor();
    // The first option: wrong for most questions, right for the third.
    await question.locator('input[type=radio]').first().check();
    await page.locator('#quiz button.quiz-primary').click();
    const evidence = page.getByTestId('quiz-evidence');
    await evidence.waitFor();
    const link = evidence.getByRole('link');
    assert.equal(await link.getAttribute('href'), `#${anchor}`, `question ${q + 1}`);
    const wrong = await page.locator('#quiz .quiz-option.chosen[data-verdict=incorrect]').count();
    assert.match(await evidence.innerText(), wrong ? /^Not sure why\? Watch it happen in / : /^See it happen in /);
    // The anchor is a real place on the page.
    await page.locator(`#${anchor}`).waitFor({ state: 'attached', timeout: 15_000 });
    await page.locator('#quiz button.quiz-primary').click();
  }
  // The score's review links each wrong answer too.
  await page.getByTestId('quiz-score').waitFor();
  const wrongLines = page.locator('#quiz .quiz-review li', { hasText: 'You chose' });
  for (let i = 0; i < await wrongLines.count(); i++) {
    assert.match(await wrongLines.nth(i).getByRole('link').getAttribute('href'), /^#[a-z-]+$/);
  }
  assert.deepEqual(page.consoleErrors, []);
  await page.close();
});
