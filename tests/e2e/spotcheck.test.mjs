// Spot-checks: a supervisor starts a draw from the form (giving the emergency reason the form
// asks for outside 08:00–20:00 county time), sees the sample and the checkpoint that seeded it,
// and recomputes the draw in the browser.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  DEMO_LOGINS, allowHttpErrors, apiGet, apiLogin, assertNoErrors, countyNow, demoAndBrowser, gotoRoute, login, newPage,
  screenshot,
} from './harness.mjs';

const session = demoAndBrowser();

const UNIT = '341322100'; // 龙城镇: 8 cadres in 4 villages
const SIZE = 2;

// Within a minute of the window's edges either answer is right (the clocks of test and server).
function inWorkingHours({ hour, minute }) {
  const m = hour * 60 + minute;
  if (Math.abs(m - 8 * 60) <= 1 || Math.abs(m - 20 * 60) <= 1) return null;
  return m >= 8 * 60 && m < 20 * 60;
}

test('a supervisor draws a spot-check, sees its sample and seeding checkpoint, and verifies it in the browser', async (t) => {
  const page = await newPage(session.browser);
  try {
    const { username, password } = DEMO_LOGINS.supervisor;
    await login(page, session.demo.url, username, password);
    await gotoRoute(page, `#/spot-checks?unit=${UNIT}`, 'spot-checks');
    const form = page.getByTestId('draw-form');
    await form.waitFor();
    // The draws of the township so far (the demo's own are over the whole county).
    await page.getByTestId('draw-list').or(page.getByTestId('draw-list-empty')).first().waitFor();
    const before = await page.locator('[data-testid=draw-list] tbody tr[data-draw-id]').count();

    await page.getByTestId('draw-unit').fill(UNIT);
    await page.getByTestId('draw-population').selectOption('cadres');
    await page.getByTestId('draw-size').fill(String(SIZE));
    await page.getByTestId('draw-purpose').fill('e2e：本周驻村抽查');

    const refused = allowHttpErrors(page, 422, '/v1/spot-checks/draws');
    const emergency = page.getByTestId('draw-emergency');
    const facts = page.getByTestId('draw-facts');
    const now = countyNow();
    const firstAnswer = page.waitForResponse((r) => r.url().endsWith('/v1/spot-checks/draws') && r.request().method() === 'POST');
    await page.getByTestId('draw-submit').click();
    const first = await firstAnswer;
    await facts.or(page.locator('[data-testid=draw-emergency][aria-invalid=true]')).first().waitFor();
    const working = inWorkingHours(now);
    t.diagnostic(`county time ${now.date} ${String(now.hour).padStart(2, '0')}:${String(now.minute).padStart(2, '0')}, first answer ${first.status()}`);
    if (first.status() === 422) {
      assert.notEqual(working, true, 'a draw within 08:00–20:00 county time should not need an emergency reason');
      // The form says why, on the emergency reason field, and stores nothing.
      const reason = page.locator('[data-testid=draw-emergency] ~ .field-error, .field:has([data-testid=draw-emergency]) .field-error');
      assert.match(await reason.first().innerText(), /08:00 to 20:00.*emergency reason/,
        'the refusal should be shown at the emergency reason field');
      assert.equal(await facts.count(), 0, 'no draw should be shown after the refusal');
      assert.equal((await refused.waitFor(1)).length, 1, 'exactly one 422 should have been logged');
      await emergency.fill('e2e：夜间核查驻村在岗情况');
      const second = page.waitForResponse((r) => r.url().endsWith('/v1/spot-checks/draws') && r.request().method() === 'POST');
      await page.getByTestId('draw-submit').click();
      assert.equal((await second).status(), 201, 'the draw with an emergency reason should be created');
      assert.equal(await emergency.getAttribute('aria-invalid'), null, 'the field error should be cleared');
    } else {
      assert.equal(first.status(), 201, `the draw should be created, or refused for want of an emergency reason; got ${first.status()}`);
      assert.notEqual(working, false, 'outside 08:00–20:00 county time a draw over cadres without an emergency reason should be refused');
    }
    await facts.waitFor();
    const drawId = await facts.getAttribute('data-draw-id');
    assert.match(drawId ?? '', /^[0-9a-f-]{36}$/, 'the detail should name the new draw');
    assert.match(page.url(), new RegExp(`draw=${drawId}`), 'the address should name the draw');
    await page.locator(`[data-testid=draw-list] tr[data-draw-id="${drawId}"].is-selected`).waitFor();
    assert.equal(await page.locator('[data-testid=draw-list] tbody tr[data-draw-id]').count(), before + 1, 'the new draw should be added to the list');

    // The sample and the checkpoint are the ones the server recorded.
    const token = await apiLogin(session.demo.url, DEMO_LOGINS.supervisor);
    const draw = await apiGet(session.demo.url, token, `/v1/spot-checks/draws/${drawId}`);
    assert.equal(draw.sample.length, SIZE, `the draw should sample ${SIZE} cadres`);
    const shown = await page.locator('[data-testid=draw-sample] tbody tr').evaluateAll((els) => els.map((e) => e.dataset.memberId));
    assert.deepEqual(shown, draw.sample, 'the page should show the sample in the drawn order');
    const names = await page.locator('[data-testid=draw-sample] tbody tr a[href^="#/cadre/"]').allInnerTexts();
    assert.equal(names.length, SIZE, 'each sampled cadre should link to their page');
    for (const name of names) assert.match(name, /^\p{Script=Han}{2,3}$/u, `a sampled cadre should be shown by name, got ${name}`);
    const challenges = await page.locator('[data-testid=draw-sample] [data-testid=challenge-status]').count();
    assert.equal(challenges, SIZE, 'each sampled cadre should have a challenge');
    const note = await page.getByTestId('draw-checkpoint').innerText();
    assert.equal(note.trim(), draw.checkpoint.note.trim(), 'the page should show the checkpoint note that seeded the draw');
    const [origin, size, root] = note.trim().split('\n');
    assert.match(origin, /^fieldtrail\.local\/[0-9a-f]{8}$/, 'the checkpoint starts with the log origin');
    assert.equal(Number(size), draw.seq, 'the seeding checkpoint is of the tree just before the draw entry');
    assert.equal(root, draw.checkpoint.root, 'the checkpoint carries the root that seeded the draw');
    assert.match(note.trim(), /\n\n— fieldtrail\.local\/[0-9a-f]{8} [A-Za-z0-9+/=]+$/, 'the checkpoint should be signed');

    // The in-browser recomputation: signature, seed, entry bytes, inclusion, population, sample.
    const result = page.getByTestId('draw-verify-result');
    assert.equal(await result.getAttribute('data-state'), 'idle');
    await page.getByTestId('draw-verify').click();
    await page.locator('[data-testid=draw-verify-result]:not([data-state=idle]):not([data-state=pending])').waitFor({ timeout: 20_000 });
    const steps = await result.locator('li[data-step]').evaluateAll((els) => els.map((e) => `${e.dataset.step}:${e.dataset.ok}`));
    assert.equal(await result.getAttribute('data-state'), 'ok', `the draw should verify in the browser; steps: ${steps.join(' ')}`);
    for (const step of ['drawCheckpoint', 'drawSeedRoot', 'drawHeader', 'drawInclusion', 'drawPayload', 'drawPopulation', 'drawSample']) {
      assert.ok(steps.includes(`${step}:true`), `the verification should pass the step ${step}; steps: ${steps.join(' ')}`);
    }
    assert.ok(steps.every((s) => s.endsWith(':true')), `every step should pass: ${steps.join(' ')}`);
    await screenshot(page, 'spot-check-verified');
    assertNoErrors(page, 'the spot-checks page');
  } finally {
    await page.context().close();
  }
});
