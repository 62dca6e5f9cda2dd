// The encryption section against the real server: Alice and Bob's browser devices
// encrypt with vodozemac, the server's stored copy is ciphertext, Bob's phone shows the
// plaintext; the ratchet's numbers move; an exported session cannot open a captured
// message; a group message is stored once and a removed member cannot read the next.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { launchBrowser, openPage, labReady } from './support.mjs';

async function sendAs(page, who, text) {
  await page.getByLabel('Message', { exact: true }).fill(text);
  const name = who === 'alice' ? 'Encrypt and send as Alice →' : '← Reply as Bob';
  await page.getByRole('button', { name }).click();
}

// The three views of row `index`, once the server's copy is read and the recipient shows it.
async function rowViews(page, index, recipient) {
  const row = page.getByTestId('cipher-rows').locator('.cipher-row').nth(index);
  await row.getByTestId(`${recipient}-view`).getByTestId('decrypted').waitFor({ timeout: 20_000 });
  await row.getByTestId('server-body').waitFor({ state: 'attached', timeout: 20_000 });
  return {
    alice: await row.getByTestId('alice-view').innerText(),
    server: await row.getByTestId('server-body').textContent(),
    facts: await row.locator('.cipher-facts').innerText(),
    bob: await row.getByTestId('bob-view').innerText(),
  };
}

function factsOf(text) {
  const m = text.match(/Olm (pre-key message|message) · ratchet key (\S+)… · chain index (\d+)/);
  assert.ok(m, `no Olm facts in: ${text}`);
  return { preKey: m[1] === 'pre-key message', ratchet: m[2], index: Number(m[3]) };
}

test('Alice and Bob exchange encrypted messages and the server holds only ciphertext', async () => {
  const browser = await launchBrowser();
  try {
    const page = await openPage(browser);
    await labReady(page);
    await page.locator('#encryption').scrollIntoViewIfNeeded();

    const secrets = ['the vault code is 4711', 'bring the blue folder', 'ok see you'];
    await sendAs(page, 'alice', secrets[0]);
    const first = await rowViews(page, 0, 'bob');
    assert.match(first.alice, new RegExp(secrets[0]));
    assert.match(first.bob, new RegExp(secrets[0]));
    assert.match(first.bob, /decrypted on this phone · Olm pre-key message/);
    assert.ok(!first.server.includes(secrets[0]), 'the server copy holds the plaintext');
    assert.match(first.server, /"e2e":"olm"/);
    const f0 = factsOf(first.facts);
    assert.deepEqual([f0.preKey, f0.index], [true, 0]);

    await sendAs(page, 'alice', secrets[1]);
    const second = await rowViews(page, 1, 'bob');
    assert.ok(!second.server.includes(secrets[1]));
    const f1 = factsOf(second.facts);
    assert.equal(f1.ratchet, f0.ratchet, 'one sending chain keeps its ratchet key');
    assert.equal(f1.index, 1, 'the chain index counts up');

    // Bob answers: his message is a normal one under his own ratchet key.
    await sendAs(page, 'bob', secrets[2]);
    const third = await rowViews(page, 2, 'alice');
    assert.match(third.alice, new RegExp(secrets[2]));
    assert.ok(!third.server.includes(secrets[2]));
    const f2 = factsOf(third.facts);
    assert.equal(f2.preKey, false);
    assert.notEqual(f2.ratchet, f0.ratchet, 'the ratchet turned');

    // Forward secrecy: Bob's current session cannot open Alice's first message. The
    // theft waits for a prediction (predictions.test.mjs checks its reveal).
    await page.getByTestId('prediction-forward-secrecy').getByLabel("No: that message's key no longer exists").check();
    await page.getByRole('button', { name: 'Steal Bob\'s session and decrypt the captured message' }).click();
    const outcome = page.getByTestId('secrecy-outcome');
    await outcome.locator('[data-result]').waitFor({ timeout: 5_000 });
    assert.equal(await outcome.locator('[data-result]').getAttribute('data-result'), 'refused');
    assert.match(await outcome.innerText(), /cannot decrypt the captured message/);

    // A reload keeps the devices' sessions (pickled in localStorage): the next message
    // is a normal ratchet message, not a new pre-key session.
    await page.reload();
    await labReady(page);
    await sendAs(page, 'alice', 'after the reload');
    const after = await rowViews(page, 0, 'bob');
    assert.equal(factsOf(after.facts).preKey, false, 'the session survived the reload');
    assert.match(after.bob, /after the reload/);

    assert.deepEqual(page.consoleErrors, []);
  } finally {
    await browser.close();
  }
});

test('a group message is stored once, read by every member, and a removed member cannot read the next', async () => {
  const browser = await launchBrowser();
  try {
    const page = await openPage(browser);
    await labReady(page);
    const lab = page.locator('.group-e2e');
    await lab.scrollIntoViewIfNeeded();
    await lab.getByRole('button', { name: 'Make Alice\'s group with You and Bob' }).click();
    await lab.getByTestId('group-members').filter({ hasText: 'Members: Alice, You, Bob' }).waitFor({ timeout: 10_000 });

    await lab.getByLabel('Group message', { exact: true }).fill('dinner on friday');
    await lab.getByRole('button', { name: 'Encrypt once and send as Alice' }).click();
    const row0 = lab.locator('.group-row').nth(0);
    await row0.getByTestId('group-copies').waitFor({ timeout: 20_000 });
    assert.match(await row0.getByTestId('group-copies').innerText(), /1 stored ciphertext → 2 deliveries/);
    assert.ok(!(await row0.getByTestId('server-body').textContent()).includes('dinner on friday'));
    await row0.getByTestId('you-shows').filter({ hasText: 'dinner on friday' }).waitFor({ timeout: 20_000 });
    await row0.getByTestId('bob-shows').filter({ hasText: 'dinner on friday' }).waitFor({ timeout: 20_000 });
    assert.match(await row0.innerText(), /session key went over Olm to: You, Bob/);
    assert.match(await row0.innerText(), /Alice's first session for this group/);
    const session0 = (await row0.locator('.group-sent code').innerText()).trim();

    await lab.getByRole('button', { name: 'Remove Bob' }).click();
    await lab.getByTestId('group-members').filter({ hasText: 'Bob was removed' }).waitFor({ timeout: 10_000 });
    await lab.getByLabel('Group message', { exact: true }).fill('surprise party for bob');
    await lab.getByRole('button', { name: 'Encrypt once and send as Alice' }).click();
    const row1 = lab.locator('.group-row').nth(1);
    await row1.getByTestId('group-copies').waitFor({ timeout: 20_000 });
    assert.equal(await row1.getAttribute('data-rotated'), 'true');
    assert.match(await row1.innerText(), /rotated because a member who had the key left/);
    assert.notEqual((await row1.locator('.group-sent code').innerText()).trim(), session0, 'a new session');
    assert.match(await row1.getByTestId('group-copies').innerText(), /1 stored ciphertext → 1 delivery\b/);
    await row1.getByTestId('you-shows').filter({ hasText: 'surprise party for bob' }).waitFor({ timeout: 20_000 });
    assert.match(await row1.getByTestId('bob-tries').innerText(), /cannot decrypt/);
    assert.ok(!(await row1.getByTestId('bob-shows').innerText()).includes('surprise party for bob'));
    assert.deepEqual(page.consoleErrors, []);
  } finally {
    await browser.close();
  }
});
