// A cadre's page: the month's presence calendar (one day button per county day, coloured by
// status) and "prove this record", checked in the browser against the signed checkpoint.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  DEMO_LOGINS, apiGet, apiLogin, assertNoErrors, countyNow, demoAndBrowser, demoMonth, findPerson, gotoRoute, login,
  newPage, screenshot, waitForPage,
} from './harness.mjs';

const session = demoAndBrowser();

// cadre10 (徐娜, 黄口镇 341322101201) is in the village on weekdays, except for a slack week.
const CADRE = 'cadre10';
const VILLAGE = '341322101201';
const TOWNSHIP = '341322101';

function daysIn(month) {
  const [y, m] = month.split('-').map(Number);
  return new Date(Date.UTC(y, m, 0)).getUTCDate();
}

async function calendarDays(page) {
  return page.getByTestId('calendar-day').evaluateAll((els) => els.map((e) => ({ day: e.dataset.day, status: e.dataset.status, cls: e.className })));
}

// Clicks "prove this record" on the first provable row of the records table and waits for the
// result; answers {state, steps, size}.
async function proveFirst(page) {
  const button = page.locator('[data-testid=cadre-records-table] [data-testid=prove-record]').first();
  await button.waitFor();
  const recordId = await button.getAttribute('data-record-id');
  await button.click();
  const result = page.locator(`[data-testid=proof-result][data-record-id="${recordId}"]`);
  await result.waitFor();
  await page.locator(`[data-testid=proof-result][data-record-id="${recordId}"]:not([data-state=pending])`).waitFor({ timeout: 20_000 });
  return {
    recordId,
    state: await result.getAttribute('data-state'),
    steps: await result.locator('li[data-step]').evaluateAll((els) => els.map((e) => `${e.dataset.step}:${e.dataset.ok}`)),
    size: Number(await result.getByTestId('proof-size').innerText().catch(() => 'NaN')),
    text: (await result.innerText()).replace(/\s+/g, ' ').slice(0, 300),
  };
}

test('a supervisor opens a cadre’s calendar from the units page: days carry the statuses the server computed', async (t) => {
  const month = demoMonth();
  const token = await apiLogin(session.demo.url, DEMO_LOGINS.supervisor);
  const person = await findPerson(session.demo.url, token, CADRE);
  assert.ok(person, `the demo should have ${CADRE}`);
  const today = countyNow().date;
  const to = `${month}-${String(daysIn(month)).padStart(2, '0')}`;
  const presence = await apiGet(session.demo.url, token, `/v1/people/${person.id}/presence`, { query: { from: `${month}-01`, to: to > today ? today : to } });
  t.diagnostic(`${CADRE} ${person.id}, month ${month}, totals ${JSON.stringify(presence.totals)}`);

  const page = await newPage(session.browser);
  try {
    await login(page, session.demo.url, DEMO_LOGINS.supervisor.username, DEMO_LOGINS.supervisor.password);
    await page.getByTestId('summary-cards').waitFor({ timeout: 20_000 });
    await page.locator(`[data-unit-code="${TOWNSHIP}"] > .node-row [data-testid=unit-toggle]`).click();
    await page.locator(`[data-unit-code="${VILLAGE}"] [data-person-id="${person.id}"] [data-testid=person-link]`).click();
    const root = await waitForPage(page, 'cadre');
    assert.equal(await root.getAttribute('data-person-id'), person.id, 'the cadre page should be that cadre’s');
    if ((await root.getAttribute('data-month')) !== month) {
      // Early in a month the demo's records are mostly in the one before: go back a month.
      await page.getByTestId('cadre-prev-month').click();
      await page.locator(`[data-page=cadre][data-month="${month}"]`).waitFor();
    }
    await page.locator(`[data-testid=calendar][data-month="${month}"]`).waitFor();
    assert.match(await page.locator('[data-page=cadre] h1').innerText(), new RegExp(person.display_name), 'the page should name the cadre');

    const days = await calendarDays(page);
    assert.equal(days.length, daysIn(month), `the calendar of ${month} should have one button per day`);
    const byDate = new Map(presence.days.map((d) => [d.date, d.status]));
    for (const d of days) {
      const expected = byDate.get(d.day) ?? 'none';
      assert.equal(d.status, expected, `${d.day} should show the status the server computed`);
      assert.match(d.cls, new RegExp(`\\bstatus-${expected}\\b`), `${d.day} should be coloured as ${expected}`);
    }
    const present = days.filter((d) => d.status === 'present');
    const absent = days.filter((d) => d.status === 'absent');
    assert.ok(present.length >= 5, `${CADRE} should be present on several days of ${month}, got ${present.length}`);
    assert.ok(absent.length >= 1, `${CADRE} should be absent on some days of ${month}, got ${absent.length}`);
    // Present and absent days look different.
    const colour = (date) => page.locator(`[data-testid=calendar-day][data-day="${date}"]`).evaluate((e) => getComputedStyle(e).backgroundColor);
    assert.notEqual(await colour(present[0].day), await colour(absent[0].day), 'present and absent days should have different colours');
    const legend = await page.getByTestId('calendar-legend').innerText();
    assert.match(legend, new RegExp(`在村\\s*${presence.totals.present}\\b`), `the legend should count ${presence.totals.present} present days`);

    // A day opens its facts and filters the records to it.
    const day = present[present.length - 1].day;
    await page.locator(`[data-testid=calendar-day][data-day="${day}"]`).click();
    const dayFacts = page.locator(`[data-testid=day-facts][data-day="${day}"]`);
    await dayFacts.waitFor();
    assert.equal(await dayFacts.getAttribute('data-status'), 'present');
    assert.equal(await page.locator(`[data-testid=calendar-day][data-day="${day}"]`).getAttribute('aria-pressed'), 'true');
    const rows = page.locator('[data-testid=cadre-records-table] tbody tr[data-record-id]');
    await rows.first().waitFor();
    assert.ok((await rows.count()) >= 1, `a present day (${day}) should have records`);
    assert.match(page.url(), new RegExp(`day=${day}`), 'the selected day should be in the address');
    // Supervisors get no proofs of records they did not make; the page says so.
    await page.getByTestId('prove-unavailable').waitFor();
    assert.equal(await page.getByTestId('prove-record').count(), 0, 'a supervisor should not be offered to prove a cadre’s record');
    await screenshot(page, 'cadre-day');
    assertNoErrors(page, `the cadre page of ${CADRE}`);
  } finally {
    await page.context().close();
  }
});

test('an inspector proves one of the cadre’s records against the signed checkpoint', async (t) => {
  const month = demoMonth();
  const token = await apiLogin(session.demo.url, DEMO_LOGINS.inspector);
  const person = await findPerson(session.demo.url, token, CADRE);
  const page = await newPage(session.browser);
  try {
    await login(page, session.demo.url, DEMO_LOGINS.inspector.username, DEMO_LOGINS.inspector.password);
    await gotoRoute(page, `#/cadre/${person.id}?month=${month}`, 'cadre');
    await page.locator(`[data-testid=calendar][data-month="${month}"]`).waitFor();
    const proof = await proveFirst(page);
    t.diagnostic(`record ${proof.recordId}: ${proof.steps.join(' ')}`);
    assert.equal(proof.state, 'ok', `the record should be proven; the result says: ${proof.text}`);
    // Key, signed checkpoint, the leaf recomputed from the entry's bytes (inspectors may read
    // entries), the audit path up to the checkpoint's root.
    assert.deepEqual(proof.steps, ['key:true', 'checkpoint:true', 'entry:true', 'inclusion:true'],
      'an inspector’s proof should check the key, the checkpoint, the entry’s bytes and the inclusion, each passing');
    const checkpoint = await (await fetch(`${session.demo.url}/v1/ledger/checkpoint`)).text();
    assert.ok(proof.size >= 1 && proof.size <= Number(checkpoint.split('\n')[1]), 'the proof should be against a published tree size');
    assertNoErrors(page, 'the cadre page while proving a record');
  } finally {
    await page.context().close();
  }
});

test('a cadre proves one of their own records', async () => {
  const page = await newPage(session.browser);
  try {
    const { username, password } = DEMO_LOGINS.cadre;
    assert.equal(await login(page, session.demo.url, username, password), 'cadre', 'a cadre should land on their own page');
    const month = demoMonth();
    if ((await page.locator('[data-page=cadre]').getAttribute('data-month')) !== month) {
      await page.getByTestId('cadre-prev-month').click();
      await page.locator(`[data-page=cadre][data-month="${month}"]`).waitFor();
    }
    await page.locator(`[data-testid=calendar][data-month="${month}"]`).waitFor();
    const proof = await proveFirst(page);
    assert.equal(proof.state, 'ok', `the cadre's own record should be proven; the result says: ${proof.text}`);
    assert.deepEqual(proof.steps, ['key:true', 'checkpoint:true', 'inclusion:true'],
      'a cadre’s proof should check the key, the checkpoint and the inclusion, each passing');
    assertNoErrors(page, 'the cadre’s own page while proving a record');
  } finally {
    await page.context().close();
  }
});
