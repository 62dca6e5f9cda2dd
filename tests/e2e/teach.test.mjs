// The instructor's page with two students: the instructor signs in at /teach with the
// server's token and creates a class; two students open the join link in their own
// browsers, choose display names and join; their rows, connections, sections and quiz
// answers appear on /teach live (pushed over its WebSocket, no reload), and the tally
// shows how the class answered. The instructor puts a load run on the projector and the
// student's page follows it live, read-only, to its exact ledger. axe-core checks /teach
// at desktop and tablet widths, and the student's page with the projector on it.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { axeViolations, labReady, launchBrowser, openPage } from './support.mjs';

const token = process.env.BLUETICK_INSTRUCTOR_TOKEN;
let browser;
before(async () => { browser = await launchBrowser(); });
after(async () => { await browser?.close(); });

// Opens the join link, does `before` (if given) and joins as `name`.
async function joinAs(code, name, before) {
  const page = await openPage(browser, { path: `?class=${code}` });
  await labReady(page);
  if (before) await before(page);
  const form = page.getByTestId('class-join');
  await form.getByLabel('Your display name').fill(name);
  await form.getByRole('button', { name: 'Join the class' }).click();
  await page.getByTestId('class-joined').getByText(`as ${name}.`).waitFor();
  return page;
}

// Answers the quiz's first question with option `index` (0-based).
async function answerFirst(page, index) {
  await page.locator('#quiz').scrollIntoViewIfNeeded();
  await page.locator('#quiz input[type=radio]').nth(index).check();
  await page.locator('#quiz button.quiz-primary', { hasText: 'Check answer' }).click();
  await page.getByTestId('quiz-announcer').getByText(/Correct|Not quite/).waitFor();
}

test('an instructor watches two students join and answer, live', { skip: !token && 'no instructor token' }, async () => {
  const teach = await openPage(browser, { path: 'teach' });
  await teach.getByLabel('Instructor token').fill(token);
  await teach.getByRole('button', { name: 'Sign in' }).click();
  await teach.getByLabel('New class').fill('Period 3');
  await teach.getByRole('button', { name: 'Create the class' }).click();
  const board = teach.getByTestId('teach-board');
  await board.getByTestId('teach-status').getByText(/Live/).waitFor();
  const code = (await board.getByTestId('teach-code').innerText()).trim();
  assert.match(code, /^[A-Z2-9]{6}$/);
  assert.equal(await board.getByTestId('teach-student').count(), 0);

  const ada = await joinAs(code, 'Ada');
  // Grace answers the quiz's first question before she joins: it still reaches the class.
  const grace = await joinAs(code.toLowerCase(), 'Grace', (page) => answerFirst(page, 1));
  const rows = board.getByTestId('teach-student');
  await rows.filter({ hasText: 'Ada' }).waitFor();
  await rows.filter({ hasText: 'Grace' }).waitFor();
  // Both are connected (their lab phones are), said in words as well as the dot.
  await board.locator('[data-testid=teach-student][data-online=true]').nth(1).waitFor({ timeout: 10_000 });
  assert.match(await rows.filter({ hasText: 'Ada' }).innerText(), /connected/);
  await board.getByTestId('teach-health').getByText(/2 of 2 students connected/).waitFor();

  // Sections visited and quiz answers arrive without a reload.
  await answerFirst(ada, 0);
  await rows.filter({ hasText: 'Ada' }).getByTestId('teach-quiz').getByText(/of 1 right/).waitFor();
  await rows.filter({ hasText: 'Grace' }).getByTestId('teach-quiz').getByText(/of 1 right/).waitFor();
  assert.doesNotMatch(await rows.filter({ hasText: 'Ada' }).innerText(), /\b0 of 11\b/, 'a section was seen');
  const tally = board.getByTestId('tally-q1');
  await tally.getByText(/1 of 2/).first().waitFor();
  assert.equal(await tally.getByText(/1 of 2/).count(), 2, 'two different first answers, one each');

  // A student who leaves shows as away.
  await grace.close();
  await rows.filter({ hasText: 'Grace' }).and(teach.locator('[data-online=false]')).waitFor({ timeout: 20_000 });
  assert.match(await rows.filter({ hasText: 'Grace' }).innerText(), /away/);

  // The projector: the instructor's run shows on Ada's page, with nothing she can press.
  const card = board.getByTestId('teach-projector');
  await card.getByLabel(/^Pairs/).fill('2');
  await card.getByLabel(/^Pairs/).dispatchEvent('change');
  await card.getByLabel(/^Seconds/).fill('2');
  await card.getByLabel(/^Seconds/).dispatchEvent('change');
  await card.getByRole('button', { name: 'Show a load run to the class' }).click();
  const screen = ada.getByTestId('projector');
  await screen.waitFor({ timeout: 20_000 });
  await screen.getByText('2 pairs of real devices sending for 2 s').waitFor();
  assert.equal(await screen.getByRole('button').count(), 0, 'students only watch');
  await screen.locator('[data-testid=projector-ledger][data-final=true]').waitFor({ timeout: 60_000 });
  const ledger = screen.getByTestId('projector-ledger');
  assert.equal(await ledger.getAttribute('data-lost'), '0');
  assert.equal(await ledger.getAttribute('data-duplicated'), '0');
  await screen.getByTestId('projector-status').getByText(/Finished: 2 pairs for 2 s/).waitFor();
  await card.getByTestId('teach-projector-status').getByText(/Finished: 2 pairs for 2 s/).waitFor();
  assert.deepEqual(await axeViolations(ada), [], 'axe on the student page with the projector');
  await card.getByRole('button', { name: 'Take it off the projector' }).click();
  await screen.waitFor({ state: 'detached' });

  for (const width of [1280, 820]) {
    await teach.setViewportSize({ width, height: 1000 });
    assert.deepEqual(await axeViolations(teach), [], `axe at ${width} px`);
  }
  assert.deepEqual(teach.consoleErrors, []);
  assert.deepEqual(ada.consoleErrors, []);
  await ada.close();
  await teach.close();
});
